import Foundation
import RekindleCore
import RekindleKafka
@testable import RekindleRuntime
import Testing

/// `rekindle replay --bootstrap`: history read from the input topics of a mock cluster (in this
/// process; the `rekindle` binary reaches it over loopback) gives what a file replay of the same
/// events with `--partitions` = the topics' partition count gives.
@Suite(.serialized) struct TopicReplayTests {
    /// A rule set that withholds (a holdout), so withheld touches are compared too.
    static let holdoutRules = "version: topic-replay-1\nexperiments: {name: topic-replay, holdout: 0.2}\n"

    /// The generated history (with bad lines) in a file and on `partitions`-partition topics.
    struct Setup {
        let dir: URL
        let events: String
        let rules: String
        let cluster: MockCluster
        let lines: [String]

        init(partitions: Int, customers: Int = 300, producer: [String: String] = [:]) throws {
            dir = try CLI.temporaryDirectory()
            lines = ReplayFixture.generated(customers: customers, days: 60, seed: 23, bad: 0.02)
            events = dir.appendingPathComponent("events.jsonl").path
            try (lines.joined(separator: "\n") + "\n").write(toFile: events, atomically: true, encoding: .utf8)
            rules = dir.appendingPathComponent("rules.yaml").path
            try TopicReplayTests.holdoutRules.write(toFile: rules, atomically: true, encoding: .utf8)
            cluster = try LiveKafka.cluster(partitions: partitions)
            try LiveKafka.produce(lines, to: cluster, extra: producer)
        }

        subscript(_ name: String) -> String { dir.appendingPathComponent(name).path }

        func text(_ name: String) throws -> String { try String(contentsOfFile: self[name], encoding: .utf8) }

        /// Dead letters without their source (a file line there, a topic/partition/offset here),
        /// which their reason also begins with.
        func deadLetters(_ name: String) throws -> [String] {
            try text(name).split(separator: "\n").map { line in
                // `{"source":{...},"reason":"LOCATION: ...`: the source holds no braces of its own.
                guard let end = line.firstIndex(of: "}"), let reason = line.range(of: ",\"reason\":\""),
                      let location = line[reason.upperBound...].range(of: ": ") else { return "unparsed: \(line)" }
                return String(line[line.index(after: end)..<reason.upperBound] + line[location.upperBound...])
            }.sorted()
        }
    }

    /// (1) Triggers, conversions and withheld touches byte for byte, dead letters (the same
    /// originals and reasons) and the report, against `replay --partitions 4` of the file.
    @Test func topicReplayEqualsAFileReplayWithThePartitionCount() throws {
        let s = try Setup(partitions: 4)
        defer { s.cluster.close() }
        let file = try CLI.rekindle([
            "replay", "--input", s.events, "--partitions", "4", "--rules", s.rules, "--output", s["file.jsonl"],
            "--report", s["file.report.json"], "--quiet",
        ])
        #expect(file.status == 0, "\(file.stderr)")
        let topics = try CLI.rekindle([
            "replay", "--bootstrap", s.cluster.bootstrapServers, "--rules", s.rules, "--output", s["topics.jsonl"],
            "--report", s["topics.report.json"], "--quiet",
        ])
        #expect(topics.status == 0, "\(topics.stderr)")
        for suffix in ["jsonl", "conversions.jsonl", "withheld.jsonl"] {
            let fromTopics = try s.text("topics.\(suffix)"), fromFile = try s.text("file.\(suffix)")
            #expect(fromTopics.count > 1000, "\(suffix)")
            #expect(fromTopics == fromFile, "\(suffix)")
        }
        let dead = try s.deadLetters("topics.dead-letters.jsonl")
        #expect(dead.count > 10)
        #expect(dead == (try s.deadLetters("file.dead-letters.jsonl")))
        // Each names its topic, partition and offset.
        for line in try s.text("topics.dead-letters.jsonl").split(separator: "\n") {
            #expect(line.hasPrefix("{\"source\":{\"topic\":\"orders\",\"partition\":"))
        }
        #expect(try s.text("topics.report.json") == s.text("file.report.json"))
    }

    /// (2) and (5): outputs written to named topics read back equal to the file outputs, each
    /// partition in file order; the live output topics receive nothing.
    @Test func outputsGoToTheNamedTopicsAndNothingToTheLiveOnes() throws {
        let s = try Setup(partitions: 4)
        defer { s.cluster.close() }
        let named = ["replay-triggers", "replay-conversions", "replay-dead-letters", "replay-withheld"]
        for name in named { try s.cluster.createTopic(name, partitions: 4) }
        let file = try CLI.rekindle([
            "replay", "--bootstrap", s.cluster.bootstrapServers, "--rules", s.rules, "--output", s["file.jsonl"], "--quiet",
        ])
        #expect(file.status == 0, "\(file.stderr)")
        let toTopics = try CLI.rekindle([
            "replay", "--bootstrap", s.cluster.bootstrapServers, "--rules", s.rules, "--triggers-topic", named[0],
            "--conversions-topic", named[1], "--dead-letters-topic", named[2], "--withheld-topic", named[3], "--quiet",
        ])
        #expect(toTopics.status == 0, "\(toTopics.stderr)")
        for (topic, suffix) in zip(named, ["jsonl", "conversions.jsonl", "dead-letters.jsonl", "withheld.jsonl"]) {
            let expected = try s.text("file.\(suffix)").split(separator: "\n").map(String.init)
            let read = try LiveKafka.readAll(topic, from: s.cluster, partitions: 4)
            #expect(!expected.isEmpty, "\(topic)")
            #expect(read.map { String(decoding: $0.value, as: UTF8.self) }.sorted() == expected.sorted(), "\(topic)")
            // Keyed by customer_id (dead letters unkeyed), each partition in the file's order.
            for p in 0..<Int32(4) {
                let inPartition = read.filter { $0.topicPartition.partition == p }.map { String(decoding: $0.value, as: UTF8.self) }
                let members = Set(inPartition)
                #expect(inPartition == expected.filter { members.contains($0) }, "\(topic)[\(p)]")
            }
        }
        let live = TopicNames()
        for topic in [live.triggers, live.conversions, live.deadLetters, live.withheld] {
            #expect(try LiveKafka.readAll(topic, from: s.cluster, partitions: 4).isEmpty, "\(topic)")
        }
    }

    /// Output topics: none defaults to a live one, none may be an input, and each must exist.
    @Test func outputTopicsAreNamedOneByOneAndNeverAnInput() throws {
        let s = try Setup(partitions: 2, customers: 20)
        defer { s.cluster.close() }
        let base = ["replay", "--bootstrap", s.cluster.bootstrapServers, "--quiet"]
        let partial = try CLI.rekindle(base + ["--triggers-topic", "t"])
        #expect(partial.status == 2)
        #expect(partial.stderr.contains("--conversions-topic: needed with --triggers-topic"))
        let input = try CLI.rekindle(base + ["--triggers-topic", "t", "--conversions-topic", "orders", "--dead-letters-topic", "d"])
        #expect(input.status == 2)
        #expect(input.stderr.contains("\"orders\" is an input topic"), "\(input.stderr)")
        let missing = try CLI.rekindle(base + ["--triggers-topic", "nope-t", "--conversions-topic", "nope-c", "--dead-letters-topic", "nope-d"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("topic \"nope-t\" does not exist on the broker"), "\(missing.stderr)")
    }

    /// (3) The embedded broker has no time index: `--from` fails, it does not read from the start.
    @Test func fromFailsClearlyWhereTheBrokerGivesNoOffsetsForTimes() throws {
        let s = try Setup(partitions: 2, customers: 20)
        defer { s.cluster.close() }
        let r = try CLI.rekindle([
            "replay", "--bootstrap", s.cluster.bootstrapServers, "--from", "2026-01-01T00:00:00Z", "--output", s["t.jsonl"], "--quiet",
        ])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--from 2026-01-01T00:00:00.000Z: the broker gave no offsets for that time"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s["t.jsonl"]))
    }

    /// (4) `--until` bounds event time as in a file replay: later events are not folded and time
    /// advances to it at the end.
    @Test func untilBoundsTheReplayAsInAFileReplay() throws {
        let s = try Setup(partitions: 4)
        defer { s.cluster.close() }
        let times = s.lines.compactMap { if case .success(let e) = EventDecoder.decode($0) { e.occurredAt } else { nil } }.sorted()
        let until = Timestamp.format(times[times.count / 2])
        let file = try CLI.rekindle([
            "replay", "--input", s.events, "--partitions", "4", "--until", until, "--output", s["file.jsonl"],
            "--report", s["file.report.json"], "--quiet",
        ])
        #expect(file.status == 0, "\(file.stderr)")
        let topics = try CLI.rekindle([
            "replay", "--bootstrap", s.cluster.bootstrapServers, "--until", until, "--output", s["topics.jsonl"],
            "--report", s["topics.report.json"], "--quiet",
        ])
        #expect(topics.status == 0, "\(topics.stderr)")
        let triggers = try s.text("topics.jsonl")
        #expect(triggers.count > 100)
        #expect(triggers == (try s.text("file.jsonl")))
        #expect(try s.text("topics.conversions.jsonl") == s.text("file.conversions.jsonl"))
        #expect(try s.text("topics.report.json") == s.text("file.report.json"))
        // Nothing fired after --until, and the whole history would have fired more.
        let limit = Timestamp.parse(until)!
        for line in triggers.split(separator: "\n") {
            guard case .string(let fired)? = (try? JSONParser.parse(String(line)))?["fired_at"] else {
                Issue.record("unparsed: \(line)")
                continue
            }
            #expect(Timestamp.parse(fired)! <= limit)
        }
        let whole = try CLI.rekindle(["replay", "--bootstrap", s.cluster.bootstrapServers, "--output", s["whole.jsonl"], "--quiet"])
        #expect(whole.status == 0)
        #expect(try s.text("whole.jsonl").count > triggers.count)
    }

    /// `backtest --bootstrap` gives the report of `backtest --input` with the topics' partition
    /// count and the partitioner that filled them (here librdkafka's default, CRC-32), found by
    /// where the customers are.
    @Test func backtestFromTopicsEqualsABacktestOfTheFile() throws {
        let s = try Setup(partitions: 4, producer: ["partitioner": "consistent_random"])
        defer { s.cluster.close() }
        let file = try CLI.rekindle([
            "backtest", "--input", s.events, "--partitions", "4", "--partitioner", "crc32", "--rules", s.rules,
            "--report", s["file.json"], "--quiet",
        ])
        #expect(file.status == 0, "\(file.stderr)")
        let topics = try CLI.rekindle([
            "backtest", "--bootstrap", s.cluster.bootstrapServers, "--rules", s.rules, "--report", s["topics.json"], "--quiet",
        ])
        #expect(topics.status == 0, "\(topics.stderr)")
        let report = try s.text("topics.json")
        #expect(report.contains("\"partitions\":4"))
        #expect(report == (try s.text("file.json")))
        // The same topics replayed with murmur2 routing would differ: the partitioner matters.
        let murmur = try CLI.rekindle([
            "backtest", "--input", s.events, "--partitions", "4", "--rules", s.rules, "--report", s["murmur.json"], "--quiet",
        ])
        #expect(murmur.status == 0)
        #expect(try s.text("murmur.json") != report)
    }

    /// The history ends at the end offsets taken when the read starts: messages produced after
    /// them are not read, even though they are there when the reading reaches them.
    @Test func theReadStopsAtTheEndOffsetsTakenAtTheStart() throws {
        let cluster = try LiveKafka.cluster(partitions: 2)
        defer { cluster.close() }
        let lines = ReplayFixture.generated(customers: 40, days: 20, seed: 5)
        let half = lines.count / 2
        try LiveKafka.produce(Array(lines[..<half]), to: cluster)
        let consumer = try Consumer(
            ["bootstrap.servers": cluster.bootstrapServers, "group.id": "reader-\(UUID().uuidString)", "fetch.wait.max.ms": "10"],
            fromBeginning: true)
        defer { consumer.close() }
        let all = TopicNames().inputs.flatMap { name in (0..<Int32(2)).map { TopicPartition(name, $0) } }
        var ends: [TopicPartition: Int64] = [:]
        for tp in all { ends[tp] = try consumer.queryWatermarks(tp).high }
        try LiveKafka.produce(Array(lines[half...]), to: cluster)
        var read = 0
        try consumer.read(all.map(TopicPartitionOffset.beginning), to: ends) { m in
            read += 1
            #expect(m.offset < ends[m.topicPartition]!)
        }
        #expect(read == half)
        #expect(try all.reduce(Int64(0)) { $0 + (try consumer.queryWatermarks($1).high) } == Int64(lines.count))
    }

    /// Task k is partition k of each input topic: topics with different counts cannot be replayed.
    @Test func inputTopicsMustShareTheirPartitionCount() throws {
        let cluster = try MockCluster()
        defer { cluster.close() }
        try cluster.createTopic("orders", partitions: 4)
        try cluster.createTopic("product-views", partitions: 2)
        try cluster.createTopic("email-opens", partitions: 4)
        let dir = try CLI.temporaryDirectory()
        let r = try CLI.rekindle(["replay", "--bootstrap", cluster.bootstrapServers, "--output", dir.appendingPathComponent("t").path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("the input topics must have the same number of partitions"), "\(r.stderr)")
    }
}

import ArgumentParser
import Foundation
import RekindleCore
import RekindleKafka
import RekindleRuntime

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks, each beside a baseline measured in the same run.",
        subcommands: [LiveBench.self])
}

/// Live rate through the embedded broker beside librdkafka's raw consume rate, same process,
/// same broker, same messages.
struct LiveBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live",
        abstract: "Produce generated events to the embedded broker, then time a raw consume and a live run over them.")

    @Option(name: .long, help: "Customers to generate (about 12 events each).")
    var customers = 80_000

    @Option(name: .long, help: "Days of history.")
    var days = 120

    @Option(name: .long, help: "Partitions per topic (the mock broker keeps only ~5 MiB per partition).")
    var partitions = 64

    @Option(name: .long, help: "Use this event file instead of generating one.")
    var input: String?

    func run() throws {
        var lines: [[UInt8]] = []
        if let input {
            guard let data = FileManager.default.contents(atPath: input) else { throw UsageError(message: "--input: cannot read \(input)") }
            lines = data.split(separator: 0x0a).map(Array.init)
        } else {
            var o = GeneratorOptions()
            o.customers = customers
            o.days = days
            SyntheticStream.generate(o) { lines.append(Array($0.utf8)) }
        }
        let cluster = try MockCluster()
        defer { cluster.close() }
        let topics = TopicNames()
        for t in topics.all { try cluster.createTopic(t, partitions: partitions) }
        func report(_ name: String, _ count: Int, _ d: Duration) -> Double {
            let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
            let rate = Double(count) / s
            print("\(name.padding(toLength: 34, withPad: " ", startingAt: 0)) \(count) msgs in \(String(format: "%.2f", s)) s = \(Int(rate)) msg/s")
            return rate
        }

        let clock = ContinuousClock()
        let producer = try Producer(["bootstrap.servers": cluster.bootstrapServers, "linger.ms": "20"])
        let produced = try clock.measure {
            for line in lines {
                switch line.withUnsafeBufferPointer({ EventDecoder.decode(bytes: $0) }) {
                case .success(let e): try producer.produce(topic: topics.name(of: e.topic), key: Array(e.customerId.utf8), value: line)
                case .failure: try producer.produce(topic: topics.orders, key: nil, value: line)
                }
            }
            try producer.flush()
        }
        _ = report("produce (decode + route + produce)", lines.count, produced)

        // Baseline: librdkafka reading the same partitions to their end, copying each message out.
        let raw = try Consumer(["bootstrap.servers": cluster.bootstrapServers, "group.id": "bench-raw", "fetch.wait.max.ms": "10"],
                               fromBeginning: true)
        var consumed = 0
        let inputs = topics.inputs.flatMap { t in (0..<partitions).map { TopicPartition(t, Int32($0)) } }
        let rawTime = try clock.measure {
            try raw.assign(inputs)
            var ended = Set<TopicPartition>()
            while ended.count < inputs.count {
                switch raw.poll(timeoutMs: 100) {
                case .message(let m)?:
                    consumed += 1
                    ended.remove(m.topicPartition)
                case .endOfPartition(let tp, _)?: ended.insert(tp)
                default: break
                }
            }
        }
        raw.close()
        let rawRate = report("raw consume (librdkafka baseline)", consumed, rawTime)

        var options = LiveOptions(bootstrap: cluster.bootstrapServers)
        options.groupId = "bench-live"
        options.stopWhenIdleSeconds = 0.2
        let summary = try LiveRunner(options: options).run()
        guard let start = summary.firstAssigned, let end = summary.lastBusy else {
            throw UsageError(message: "the live run never got partitions")
        }
        let liveRate = report("live (consume, fold, produce)", summary.eventsIn, start.duration(to: end))
        print("triggers \(summary.report.totalTriggers), conversions \(summary.report.totalConversions), dead letters \(summary.badInputs)")
        print("live / raw consume = \(String(format: "%.2f", liveRate / rawRate))")
    }
}

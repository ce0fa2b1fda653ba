import Foundation
import RekindleCore
@testable import RekindleRuntime
import RekindleTooling
import Testing

enum ReplayFixture {
    static func generated(customers: Int = 600, days: Int = 90, seed: UInt64 = 7, bad: Double = 0) -> [String] {
        var o = GeneratorOptions()
        o.customers = customers
        o.days = days
        o.seed = seed
        o.badFraction = bad
        var lines: [String] = []
        SyntheticStream.generate(o) { lines.append($0) }
        return lines
    }

    static func replay(_ lines: [String], partitions: Int = 1, until: Millis? = nil, rules: RuleSet = .defaults)
        -> Replay.Result
    {
        var reader = EventFileReader()
        var text = Array(lines.joined(separator: "\n").utf8)
        text.withUnsafeMutableBufferPointer { reader.read(UnsafeBufferPointer($0), name: "events.jsonl") }
        var replay = Replay(rules: rules)
        replay.partitions = partitions
        replay.until = until
        return replay.run(events: reader.events, deadLetters: reader.deadLetters)
    }

    static func bytes(_ r: Replay.Result) -> [UInt8] {
        var out: [UInt8] = []
        for t in r.triggers { out += t.json + [10] }
        out += Array("--\n".utf8)
        for c in r.conversions { out += c.json + [10] }
        return out
    }

    /// Shuffles the lines, except that lines with equal `occurred_at` keep their relative order
    /// (replay keeps file order for ties, so a shuffle across a tie is a different input).
    static func shuffleKeepingTies(_ lines: [String], seed: UInt64) -> [String] {
        func time(_ line: String) -> Millis {
            if case .success(let e) = EventDecoder.decode(line) { return e.occurredAt }
            return Millis.min
        }
        var rng = SplitMix64(seed: seed)
        let shuffled = lines.indices.shuffled(using: &rng)
        var groups: [Millis: [Int]] = [:]
        for i in lines.indices { groups[time(lines[i]), default: []].append(i) }
        var next: [Millis: Int] = [:]
        return shuffled.map { i in
            let t = time(lines[i])
            let k = next[t, default: 0]
            next[t] = k + 1
            return lines[groups[t]![k]]
        }
    }
}

@Suite struct ReplayTests {
    @Test func aSeededShuffleOfTheInputGivesByteIdenticalOutput() {
        let lines = ReplayFixture.generated()
        let reference = ReplayFixture.bytes(ReplayFixture.replay(lines))
        #expect(reference.count > 10_000, "the fixture must produce a real amount of output")
        for seed: UInt64 in [1, 2, 3] {
            let shuffled = ReplayFixture.shuffleKeepingTies(lines, seed: seed)
            #expect(shuffled != lines)
            #expect(ReplayFixture.bytes(ReplayFixture.replay(shuffled)) == reference, "seed \(seed)")
        }
    }

    @Test func partitionsChangeNothingButTheRecommendations() {
        let lines = ReplayFixture.generated()
        func withoutRecommendations(_ r: Replay.Result) -> [String] {
            r.triggers.map { t in
                var t = t
                if t.recommendations != nil { t.recommendations = [] }
                return String(decoding: t.json, as: UTF8.self)
            }.sorted()
        }
        let one = ReplayFixture.replay(lines, partitions: 1)
        let four = ReplayFixture.replay(lines, partitions: 4)
        #expect(withoutRecommendations(one) == withoutRecommendations(four))
        #expect(one.conversions.map { String(decoding: $0.json, as: UTF8.self) }.sorted()
            == four.conversions.map { String(decoding: $0.json, as: UTF8.self) }.sorted())
        // Each task learns its own model, so some recommendations differ.
        func recommendations(_ r: Replay.Result) -> [String] {
            r.triggers.map { ($0.recommendations ?? []).joined(separator: ",") }.sorted()
        }
        #expect(recommendations(one) != recommendations(four))
        // The same partition count gives the same bytes.
        #expect(ReplayFixture.bytes(four) == ReplayFixture.bytes(ReplayFixture.replay(lines, partitions: 4)))
    }

    @Test func eachTaskOwnsTheCustomersItsPartitionerGivesIt() {
        let lines = ReplayFixture.generated(customers: 200, days: 40)
        var reader = EventFileReader()
        var text = Array(lines.joined(separator: "\n").utf8)
        text.withUnsafeMutableBufferPointer { reader.read(UnsafeBufferPointer($0), name: "e") }
        // Folding one task by hand equals its share of the replay.
        let p = 3
        var task = CampaignTask(rules: .defaults)
        var out: [Output] = []
        let mine = reader.events.map(\.event).filter { Partitioner.murmur2.partition($0.customerId, count: p) == 1 }
            .enumerated().sorted { ($0.element.occurredAt, $0.offset) < ($1.element.occurredAt, $1.offset) }.map(\.element)
        for e in mine { task.apply(e, into: &out) }
        task.advance(to: reader.events.map(\.event.occurredAt).max()!, into: &out)
        let byHand = out.compactMap { o -> String? in if case .trigger(let t) = o { return String(decoding: t.json, as: UTF8.self) } else { return nil } }
        var replay = Replay(rules: .defaults)
        replay.partitions = p
        let all = replay.run(events: reader.events, deadLetters: [])
        let share = all.triggers.filter { Partitioner.murmur2.partition($0.customerId, count: p) == 1 }
            .map { String(decoding: $0.json, as: UTF8.self) }
        #expect(!byHand.isEmpty)
        #expect(byHand == share)
    }

    @Test func badLinesGoToDeadLettersWithLineNumberReasonAndTheOriginalText() throws {
        let good = #"{"type":"product_view","event_id":"e1","customer_id":"c1","product_id":"p1","occurred_at":"2026-01-01T00:00:00Z"}"#
        let good2 = #"{"type":"email_open","event_id":"e2","customer_id":"c1","message_id":"m","occurred_at":"2026-01-01T00:30:00Z"}"#
        let huge = #"{"type":"product_view","x":""# + String(repeating: "a", count: 1 << 20) + #""}"#
        var bytes = Array([
            good, "not json", #"{"type":"order","event_id":"e","customer_id":"c2","order_id":"o","status":"paid","occurred_at":"yesterday","total":1}"#,
            "", huge, #"{"type":"refund"}"#,
        ].joined(separator: "\n").utf8)
        bytes += [10] + Array(#"{"type":"product_view","product_id":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        bytes += [10] + Array(good2.utf8) + [10]
        var reader = EventFileReader()
        bytes.withUnsafeBufferPointer { reader.read($0, name: "orders.jsonl") }
        #expect(reader.events.count == 2)
        let reasons = reader.deadLetters.map(\.reason)
        #expect(reasons == [
            "orders.jsonl line 2: not valid JSON: unexpected 'n' at byte 0",
            #"orders.jsonl line 3: occurred_at: expected RFC 3339, got "yesterday""#,
            "orders.jsonl line 5: message is \(huge.utf8.count) bytes, over the 1 MiB limit",
            "orders.jsonl line 6: missing required field event_id",
            "orders.jsonl line 7: not valid UTF-8 at byte 37",
        ])
        #expect(reader.deadLetters[0].original == Array("not json".utf8))
        #expect(reader.deadLetters[0].source == .file(name: "orders.jsonl", line: 2))
        let invalidUTF8 = String(decoding: reader.deadLetters[4].json, as: UTF8.self)
        #expect(invalidUTF8.contains(#""original_base64":"#))
        let result = Replay(rules: .defaults).run(events: reader.events, deadLetters: reader.deadLetters)
        #expect(result.report.badInputs == 5)
        #expect(result.report.events == 2)
    }

    @Test func untilAdvancesEventTimeSoATimerDueThenFires() {
        let purchase = #"{"type":"order","event_id":"e1","customer_id":"c1","order_id":"o1","status":"completed","occurred_at":"2026-01-01T00:00:00Z","total":10}"#
        let rfOnly = rulesOnly(["rf"])
        let atDue = ReplayFixture.replay([purchase], until: T0 + 10 * day, rules: rfOnly)
        #expect(atDue.triggers.map(\.ruleId) == ["rf.new"])
        let before = ReplayFixture.replay([purchase], until: T0 + 10 * day - 1, rules: rfOnly)
        #expect(before.triggers.isEmpty)
        // Events after --until are not replayed, and the report says how many.
        let later = #"{"type":"email_open","event_id":"e2","customer_id":"c1","message_id":"m","occurred_at":"2026-02-01T00:00:00Z"}"#
        let cut = ReplayFixture.replay([purchase, later], until: T0 + 10 * day, rules: rfOnly)
        #expect(cut.report.afterUntil == 1)
        #expect(cut.triggers.map(\.ruleId) == ["rf.new"])
    }

    @Test func theReportCountsTriggersCustomersConversionsAndRevenuePerRule() throws {
        let r = ReplayFixture.replay(ReplayFixture.generated(customers: 300, days: 60))
        for line in r.report.lines {
            let mine = r.triggers.filter { $0.ruleId == line.ruleId }
            #expect(line.triggers == mine.count)
            #expect(line.customers == Set(mine.map(\.customerId)).count)
            let conv = r.conversions.filter { $0.ruleId == line.ruleId }
            #expect(line.conversions == conv.count)
            #expect(line.revenue == conv.reduce(0) { $0 + $1.revenue })
        }
        #expect(r.report.totalTriggers == r.triggers.count)
        let json = try JSONParser.parse(String(decoding: r.report.json, as: UTF8.self))
        #expect(json["rules"].map { if case .array(let a) = $0 { return a.count } else { return 0 } } == r.report.lines.count)
    }
}

let T0: Millis = 1_767_225_600_000
let day = millisPerDay

func rulesOnly(_ families: [String]) -> RuleSet {
    let off = RuleSet.families.filter { !families.contains($0) }.map { "\"\($0)\": {\"enabled\": false}" }
    return try! RuleSet(overlay: JSONParser.parse("{\"version\": \"t\", \"families\": {\(off.joined(separator: ","))}}"))
}

import Foundation
import RekindleCore
@testable import RekindleRuntime
import Testing

/// A file replay meets the same hostile events as a live run: a broken client clock (measured
/// from the moment the replay starts, or `--now`) and totals that overflow. Each is a dead letter
/// naming its file and line, on the streaming and the sorting path alike.
@Suite(.serialized) struct HostileReplayInputTests {
    static let history = [
        #"{"type":"order","event_id":"e1","customer_id":"c1","order_id":"o1","status":"completed","occurred_at":"2026-01-01T00:00:00Z","total":1e308}"#,
        #"{"type":"product_view","event_id":"e2","customer_id":"c2","product_id":"p1","occurred_at":"2026-01-05T00:00:00Z"}"#,
        #"{"type":"order","event_id":"e3","customer_id":"c1","order_id":"o2","status":"completed","occurred_at":"2026-01-06T00:00:00Z","total":1e308}"#,
        #"{"type":"email_open","event_id":"e4","customer_id":"c3","message_id":"m1","occurred_at":"9999-12-31T23:59:59Z"}"#,
        #"{"type":"order","event_id":"e5","customer_id":"c1","order_id":"o3","status":"completed","occurred_at":"2026-01-07T00:00:00Z","total":5}"#,
        #"{"type":"email_open","event_id":"e6","customer_id":"c2","message_id":"m2","occurred_at":"2026-03-01T00:00:00Z"}"#,
    ]

    struct Outputs: Equatable {
        var triggers: String
        var deadLetters: [String]
    }

    func replay(_ lines: [String], _ extra: [String] = [], name: String = "in.jsonl") throws -> Outputs {
        let dir = try CLI.temporaryDirectory()
        let input = dir.appendingPathComponent(name).path
        try (lines.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("t.jsonl").path
        let dead = dir.appendingPathComponent("d.jsonl").path
        let r = try CLI.rekindle(["replay", "--input", input, "--output", out, "--dead-letters", dead, "--quiet"] + extra)
        #expect(r.status == 0, "\(r.stderr)")
        return Outputs(
            triggers: try String(contentsOfFile: out, encoding: .utf8),
            deadLetters: try String(contentsOfFile: dead, encoding: .utf8).split(separator: "\n").map(String.init))
    }

    @Test func anEventAheadOfTheReplaysStartIsADeadLetterAndFiresNothingAtTheEnd() throws {
        let got = try replay(Self.history, ["--now", "2026-06-01T00:00:00Z"])
        let skewed = try #require(got.deadLetters.first { $0.contains("max_future_skew") })
        #expect(skewed.contains(#""source":{"file":"in.jsonl","line":4}"#))
        #expect(skewed.contains(#"in.jsonl line 4: occurred_at: 9999-12-31T23:59:59.000Z is more than 1 day ahead of 2026-06-01T00:00:00.000Z (max_future_skew)"#))
        // The end of the replay is the last real event, not the year 9999: no touch fires past it.
        let fired = got.triggers.split(separator: "\n").compactMap { line -> Millis? in
            guard let r = line.range(of: #""fired_at":""#) else { return nil }
            return Timestamp.parse(String(line[r.upperBound...].prefix(24)))
        }
        #expect(!fired.isEmpty)
        #expect(fired.allSatisfy { $0 <= Timestamp.parse("2026-03-01T00:00:00Z")! })
        // The same as a history without that line (its dead letter aside).
        var without = Self.history
        without.remove(at: 3)
        #expect(try replay(without, ["--now", "2026-06-01T00:00:00Z"]).triggers == got.triggers)
    }

    @Test func theSkewIsMeasuredFromNowByDefaultAndCanBeWidened() throws {
        // Replayed today, an event 2 days ahead of the wall clock is refused; 3 days allowed, kept.
        let ahead = Timestamp.format(Millis(Date().timeIntervalSince1970 * 1000) + 2 * millisPerDay)
        let line = #"{"type":"email_open","event_id":"x","customer_id":"c9","message_id":"m","occurred_at":"\#(ahead)"}"#
        #expect(try replay([line]).deadLetters.count == 1)
        #expect(try replay([line], ["--max-future-skew-ms", "259200000"]).deadLetters.isEmpty)
        let bad = try CLI.rekindle(["replay", "--input", "/dev/null", "--output", "-", "--max-future-skew-ms", "0"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--max-future-skew-ms: expected a whole number from 1 to"))
    }

    @Test func anOrderThatWouldOverflowTheTotalSpentIsADeadLetterOnEveryReplayPath() throws {
        let sorted = try replay(Self.history, ["--now", "2026-06-01T00:00:00Z"])
        let overflow = try #require(sorted.deadLetters.first { $0.contains("total_spent overflow") })
        #expect(overflow.hasPrefix(#"{"source":{"file":"in.jsonl","line":3},"reason":"in.jsonl line 3: total: 1e+308 would make customer \"c1\"'s total_spent overflow a 64-bit float","original":"{\"type\":\"order\",\"event_id\":\"e3\""#))
        #expect(sorted.deadLetters.count == 2)
        #expect(!sorted.triggers.contains(#""total_spent":null"#))
        // Reversed, the input takes the sorting path; the bytes are the same (line numbers follow the file).
        let reversed = try replay(Array(Self.history.reversed()), ["--now", "2026-06-01T00:00:00Z"])
        #expect(reversed.triggers == sorted.triggers)
        #expect(reversed.deadLetters.contains { $0.contains(#""source":{"file":"in.jsonl","line":4},"reason":"in.jsonl line 4: total: 1e+308"#) })
        // Two tasks: the same dead letters.
        let split = try replay(Self.history, ["--now", "2026-06-01T00:00:00Z", "--partitions", "2"])
        #expect(split.deadLetters.sorted() == sorted.deadLetters.sorted())
    }
}

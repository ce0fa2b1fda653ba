import Foundation
import RekindleCore
@testable import RekindleRuntime
import Testing

/// The streaming pipeline (three threads, reorder buffer) against the straightforward path that
/// holds and sorts everything: same bytes, same report, or an honest "unsorted".
@Suite struct StreamingReplayTests {
    struct Written {
        var triggers: String
        var conversions: String
        var deadLetters: String
        var outcome: StreamingReplay.Outcome
    }

    static func stream(_ files: [[String]], configure: (inout StreamingReplay) -> Void = { _ in }) throws -> Written {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rk-stream-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var paths: [String] = []
        for (k, lines) in files.enumerated() {
            let path = k == 0 ? "\(dir)/events.jsonl" : "\(dir)/events\(k).jsonl"
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        var streaming = StreamingReplay(rules: .defaults)
        streaming.batchLines = 97  // small batches: many hand-offs between the stages
        configure(&streaming)
        let sinks = StreamingReplay.Sinks(
            triggers: try LineWriter(path: "\(dir)/t"), conversions: try LineWriter(path: "\(dir)/c"),
            deadLetters: try LineWriter(path: "\(dir)/d"))
        let outcome = try streaming.run(paths: paths, into: sinks)
        try sinks.triggers.close()
        try sinks.conversions.close()
        try sinks.deadLetters.close()
        func read(_ name: String) throws -> String { try String(contentsOfFile: "\(dir)/\(name)", encoding: .utf8) }
        return Written(triggers: try read("t"), conversions: try read("c"), deadLetters: try read("d"), outcome: outcome)
    }

    static func reference(_ lines: [String], until: Millis? = nil) -> (triggers: String, conversions: String, deadLetters: String, report: BacktestReport) {
        let r = ReplayFixture.replay(lines, until: until)
        func text(_ messages: [[UInt8]]) -> String { messages.map { String(decoding: $0, as: UTF8.self) + "\n" }.joined() }
        return (text(r.triggers.map(\.json)), text(r.conversions.map(\.json)), text(r.deadLetters.map(\.json)), r.report)
    }

    @Test func nearlySortedGeneratedInputWithRedeliveriesAndBadLinesStreamsToTheSameBytesAndReport() throws {
        // The generator re-delivers some lines up to an hour later: not sorted, within the window.
        let lines = ReplayFixture.generated(customers: 400, days: 60, seed: 11, bad: 0.01)
        let times = lines.compactMap { if case .success(let e) = EventDecoder.decode($0) { return e.occurredAt } else { return nil } }
        #expect(zip(times, times.dropFirst()).contains { $0 > $1 }, "the fixture must need reordering")
        let got = try Self.stream([lines])
        let want = Self.reference(lines)
        guard case .done(let report) = got.outcome else {
            Issue.record("expected the stream to finish")
            return
        }
        #expect(got.triggers == want.triggers)
        #expect(got.conversions == want.conversions)
        #expect(got.deadLetters == want.deadLetters)
        #expect(!want.triggers.isEmpty && !want.conversions.isEmpty && !want.deadLetters.isEmpty)
        #expect(String(decoding: report.json, as: UTF8.self) == String(decoding: want.report.json, as: UTF8.self))
        #expect(report.table == want.report.table)
    }

    @Test func untilCutsTheStreamAsTheSortingPathDoes() throws {
        let lines = ReplayFixture.generated(customers: 300, days: 60, seed: 12)
        let until = Timestamp.parse("2026-02-01T00:00:00Z")!
        let got = try Self.stream([lines]) { $0.until = until }
        let want = Self.reference(lines, until: until)
        guard case .done(let report) = got.outcome else {
            Issue.record("expected the stream to finish")
            return
        }
        #expect(got.triggers == want.triggers)
        #expect(got.conversions == want.conversions)
        #expect(report.afterUntil > 0)
        #expect(String(decoding: report.json, as: UTF8.self) == String(decoding: want.report.json, as: UTF8.self))
    }

    @Test func disorderBeyondTheWindowIsReportedUnsortedNotFoldedWrong() throws {
        let lines = ReplayFixture.generated(customers: 200, days: 30, seed: 13)
        // The whole history reversed: far older events keep arriving after newer ones.
        let got = try Self.stream([Array(lines.reversed())]) { $0.reorderWindowMs = millisPerHour }
        guard case .unsorted = got.outcome else {
            Issue.record("expected .unsorted, got \(got.outcome)")
            return
        }
    }

    @Test func aSmallPendingLimitStillGivesTheSameBytesWhenTheDisorderFits() throws {
        // Only 3 events may wait: fine for a sorted file, and equal to the reference.
        let lines = ReplayFixture.generated(customers: 200, days: 30, seed: 14)
        let sorted = lines.enumerated().compactMap { i, l -> (Millis, Int, String)? in
            if case .success(let e) = EventDecoder.decode(l) { return (e.occurredAt, i, l) } else { return nil }
        }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2)
        let got = try Self.stream([sorted]) { $0.maxPending = 3 }
        let want = Self.reference(sorted)
        guard case .done = got.outcome else {
            Issue.record("expected the stream to finish")
            return
        }
        #expect(got.triggers == want.triggers)
        #expect(got.conversions == want.conversions)
    }

    @Test func anUnreadableInputEndsTheRunWithItsErrorInsteadOfHangingTheFold() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rk-unreadable-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = "\(dir)/events.jsonl"
        try (ReplayFixture.generated(customers: 50, days: 10).joined(separator: "\n") + "\n").write(toFile: good, atomically: true, encoding: .utf8)
        let sinks = StreamingReplay.Sinks(
            triggers: try LineWriter(path: "\(dir)/t"), conversions: try LineWriter(path: "\(dir)/c"),
            deadLetters: try LineWriter(path: "\(dir)/d"))
        // A directory opens but cannot be read: the error surfaces after the first file streamed.
        #expect(throws: FileError.self) { try StreamingReplay(rules: .defaults).run(paths: [good, dir], into: sinks) }
    }

    @Test func lineReaderSplitsLinesAcrossChunkBoundariesAndLongLines() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rk-lines-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        // A 9 MiB line (longer than the 4 MiB chunk, within a 16 MiB limit), CRLF endings, an
        // empty line, no final newline.
        let long = String(repeating: "x", count: 9 << 20)
        try ("a\r\n" + long + "\n\nb").write(toFile: path, atomically: true, encoding: .utf8)
        var got: [(Int, Int)] = []
        var reader = LineReader()
        reader.maxLine = 16 << 20
        try reader.forEachLine(path: path) { read, number in
            if case .line(let line) = read { got.append((number, line.count)) }
            return true
        }
        #expect(got.map(\.0) == [1, 2, 3, 4])
        #expect(got.map(\.1) == [1, 9 << 20, 0, 1])
    }
}

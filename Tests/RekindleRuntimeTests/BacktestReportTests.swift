import Foundation
import RekindleCore
import RekindleRuntime
import Testing

/// The back-test report is counted on three paths, the sorting replay, the streaming replay and a
/// live run that stops when idle, all through `BacktestReport.Counter`: the same input gives the
/// same report on each, byte for byte.
@Suite(.serialized) struct BacktestReportTests {
    /// Generated events (with bad lines, and re-deliveries the fold ignores) in `occurred_at`
    /// order, as a live run on one partition folds them: no event is late on any path.
    static let lines: [String] = {
        func time(_ line: String) -> Millis {
            if case .success(let e) = EventDecoder.decode(line) { return e.occurredAt }
            return Millis.min
        }
        let generated = ReplayFixture.generated(customers: 300, days: 60, seed: 21, bad: 0.01)
        return generated.enumerated().sorted { (time($0.element), $0.offset) < (time($1.element), $1.offset) }.map(\.element)
    }()

    @Test func theSortingReplayTheStreamingReplayAndALiveRunReportAlike() throws {
        let sorting = ReplayFixture.replay(Self.lines).report
        guard case .done(let streaming) = try StreamingReplayTests.stream([Self.lines]).outcome else {
            Issue.record("expected the stream to finish")
            return
        }
        let cluster = try LiveKafka.cluster(partitions: 1)
        defer { cluster.close() }
        try LiveKafka.produce(Self.lines, to: cluster)
        let live = try LiveKafka.run(cluster).report

        // Not vacuous: every counter the paths share has something in it.
        #expect(sorting.totalTriggers > 1000 && sorting.totalConversions > 100 && sorting.totalRevenue > 0)
        #expect(sorting.badInputs > 0 && sorting.ignoredOrderEvents > 0 && sorting.lines.contains { $0.customers > 0 })
        let want = String(decoding: sorting.json, as: UTF8.self)
        #expect(String(decoding: streaming.json, as: UTF8.self) == want)
        #expect(String(decoding: live.json, as: UTF8.self) == want)
        #expect(streaming.table == sorting.table)
        #expect(live.table == sorting.table)
    }
    /// The streaming replay counts a rule's customers by their numbers in its task: a customer
    /// erased and back under a new number, reached by the same rule before and after, is still
    /// one customer of that rule, as the sorting replay (which counts by id) has it.
    @Test func aCustomerErasedAndBackIsCountedOnceByTheStreamingReplayAsByTheSortingOne() throws {
        func field(_ name: String, _ line: String) -> String? {
            guard let r = line.range(of: "\"\(name)\":\"") else { return nil }
            return String(line[r.upperBound...].prefix { $0 != "\"" })
        }
        // Every tenth customer erased halfway through the history; their events go on after.
        var lines = Self.lines
        let middle = try #require((lines.count / 2..<lines.count).first { Self.millis(field("occurred_at", lines[$0]) ?? "") != .min })
        let at = try #require(field("occurred_at", lines[middle]))
        let customers = Set(lines.compactMap { field("customer_id", $0) }).sorted()
        let erased = stride(from: 0, to: customers.count, by: 10).map { customers[$0] }
        lines.insert(
            contentsOf: erased.enumerated().map { k, id in #"{"type":"erasure","event_id":"erase-\#(k)","customer_id":"\#(id)","occurred_at":"\#(at)"}"# },
            at: middle)

        let sorting = ReplayFixture.replay(lines)
        guard case .done(let streaming) = try StreamingReplayTests.stream([lines]).outcome else {
            Issue.record("expected the stream to finish")
            return
        }
        // Not vacuous: some erased customer was reached by a rule before its erasure and again after.
        let before = Set(sorting.triggers.filter { erased.contains($0.customerId) && $0.firedAt <= Self.millis(at) }.map { [$0.customerId, $0.ruleId] })
        let after = Set(sorting.triggers.filter { erased.contains($0.customerId) && $0.firedAt > Self.millis(at) }.map { [$0.customerId, $0.ruleId] })
        #expect(!before.intersection(after).isEmpty)
        #expect(String(decoding: streaming.json, as: UTF8.self) == String(decoding: sorting.report.json, as: UTF8.self))
    }

    static func millis(_ iso: String) -> Millis {
        let line = #"{"type":"erasure","event_id":"x","customer_id":"c","occurred_at":"\#(iso)"}"#
        if case .success(let e) = EventDecoder.decode(line) { return e.occurredAt }
        return Millis.min
    }
}


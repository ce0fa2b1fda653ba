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
}

import Foundation
import RekindleCore
import Synchronization
import Testing

@testable import RekindleRuntime

/// What a running instance tells its dashboard: snapshot age that grows, readiness, the delay of
/// each trigger, and no series left behind for partitions it gave up.
@Suite(.serialized) struct LiveMetricsTests {
    /// The value of the series `series` (name and labels, as rendered), if present.
    static func value(_ series: String, in text: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.dropFirst(series.count + 1)) }
    }

    final class Outcome: Sendable {
        let result = Mutex<Result<LiveSummary, any Error>?>(nil)
    }

    /// Issue 11: a catch-up shows its progress in the log (how far behind, how fast), and an
    /// instance that has caught up stops saying so.
    @Test func aCatchUpLogsHowFarBehindItIsAndHowFastItFolds() throws {
        let cluster = try LiveKafka.cluster(partitions: 2)
        defer { cluster.close() }
        try LiveKafka.produce(ReplayFixture.generated(customers: 400, days: 60, seed: 5), to: cluster)
        var options = LiveOptions(bootstrap: cluster.bootstrapServers)
        options.groupId = "live-progress"
        options.stopWhenIdleSeconds = 0.5
        options.maxBatch = 50  // many small batches: a catch-up long enough to be reported
        options.progressIntervalSeconds = 0.02
        let log = LogCapture()
        _ = try LiveRunner(options: options, logger: log.logger).run()
        let lines = log.text.split(separator: "\n").filter { $0.contains("catching up:") }
        #expect(!lines.isEmpty, "\(log.text.suffix(2000))")
        let first = try #require(lines.first)
        #expect(first.contains("messages behind the partitions' ends") && first.contains("/s)"), "\(first)")
        // How far behind it says it is shrinks to nothing: the last report is below the first.
        func behind(_ line: Substring) -> Int? { line.split(separator: " ").dropFirst(3).first.flatMap { Int($0) } }
        #expect(try #require(behind(first)) >= (try #require(behind(lines.last!))), "\(lines)")
    }

    @Test func snapshotAgeGrowsReadinessIsExportedAndRevokedPartitionsLeaveNoSeries() throws {
        let cluster = try LiveKafka.cluster(partitions: 2)
        defer { cluster.close() }
        try LiveKafka.produce(ReplayFixture.generated(customers: 200, days: 40, seed: 41), to: cluster)
        var options = LiveOptions(bootstrap: cluster.bootstrapServers)
        options.groupId = "live-metrics"
        options.snapshotStore = try DirectorySnapshotStore(directory: try CLI.temporaryDirectory().path)
        options.snapshotIntervalSeconds = 3600  // no periodic snapshot while it is watched
        let metrics = RekindleMetrics()
        let runner = LiveRunner(options: options, metrics: metrics)
        let finished = DispatchSemaphore(value: 0)
        let outcome = Outcome()
        let thread = Thread {
            let r = Result { try runner.run() }
            outcome.result.withLock { $0 = r }
            finished.signal()
        }
        thread.start()

        // Watch /metrics as a scraper would until both tasks are ready and their snapshot age has
        // grown past half a second (no snapshot since they were assigned).
        var seen = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            seen = metrics.render()
            let ages = (0..<2).compactMap { Self.value(#"rekindle_snapshot_age_seconds{task="\#($0)"}"#, in: seen) }
            if Self.value("rekindle_ready", in: seen) == 1, ages.count == 2, ages.allSatisfy({ $0 >= 0.5 }) { break }
            if outcome.result.withLock({ $0 != nil }) { break }  // it ended early: reported below
            usleep(20_000)
        }
        runner.stop()
        finished.wait()
        _ = try #require(try outcome.result.withLock { $0 }?.get())
        #expect(Self.value("rekindle_ready", in: seen) == 1, "\(seen)")
        for task in 0..<2 {
            let age = Self.value(#"rekindle_snapshot_age_seconds{task="\#(task)"}"#, in: seen)
            #expect((age ?? 0) >= 0.5, "task \(task): \(seen)")
        }
        #expect(seen.contains(#"rekindle_consumer_lag{topic="orders",partition="0"}"#), "\(seen)")

        // Leaving the group revoked every partition: no lag or per-task series stays behind.
        let after = metrics.render()
        #expect(!after.contains("rekindle_consumer_lag{"), "\(after)")
        #expect(!after.contains("rekindle_snapshot_age_seconds{"), "\(after)")
        // Every trigger delivered is in the delay histogram.
        let triggers = after.split(separator: "\n").filter { $0.hasPrefix("rekindle_triggers_total{") }
            .compactMap { Double($0.split(separator: " ").last!) }.reduce(0, +)
        #expect(triggers > 0)
        #expect(Self.value("rekindle_trigger_delay_seconds_count", in: after) == triggers, "\(after)")
    }
}

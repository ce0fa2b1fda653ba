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

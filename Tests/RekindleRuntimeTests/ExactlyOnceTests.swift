import Foundation
import Logging
import RekindleCore
import RekindleKafka
@testable import RekindleRuntime
import Testing

/// Spec section 5, Exactly-once: after a restart every trigger, conversion and dead letter is on
/// its topic exactly once, whether the task restores a snapshot, falls back to an older one, or
/// has none at all.
@Suite(.serialized) struct ExactlyOnceTests {
    /// The generated stream split at a time boundary: the second half is strictly later.
    static func halves(seed: UInt64) -> ([String], [String]) {
        let lines = ReplayFixture.generated(customers: 300, days: 80, seed: seed, bad: 0.01)
        let timed = lines.map { line -> (Millis, String) in
            if case .success(let e) = EventDecoder.decode(line) { return (e.occurredAt, line) }
            return (Millis.min, line)
        }.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element)
        var cut = timed.count / 2
        while cut < timed.count && timed[cut].0 == timed[cut - 1].0 { cut += 1 }
        return (timed[..<cut].map(\.1), timed[cut...].map(\.1))
    }

    static func run(_ cluster: MockCluster, store: (any SnapshotStore)?, metrics: RekindleMetrics? = nil) throws -> LiveSummary {
        var options = LiveOptions(bootstrap: cluster.bootstrapServers)
        options.groupId = "exactly-once"
        options.stopWhenIdleSeconds = 0.3
        options.snapshotStore = store
        options.snapshotIntervalSeconds = 0.05
        return try LiveRunner(options: options, metrics: metrics).run()
    }

    /// Every output message, as sorted lines (a multiset: a duplicate shows).
    static func outputs(_ cluster: MockCluster, partitions: Int) throws -> [String: [String]] {
        var all: [String: [String]] = [:]
        for topic in ["campaign-triggers", "campaign-conversions", "rekindle-dead-letters"] {
            all[topic] = try LiveKafka.readAll(topic, from: cluster, partitions: partitions)
                .map { String(decoding: $0.value, as: UTF8.self) }.sorted()
        }
        return all
    }

    static func expected(_ lines: [String], partitions: Int) -> (triggers: [String], conversions: [String]) {
        let r = ReplayFixture.replay(lines, partitions: partitions)
        return (r.triggers.map { String(decoding: $0.json, as: UTF8.self) }.sorted(),
                r.conversions.map { String(decoding: $0.json, as: UTF8.self) }.sorted())
    }

    @Test func aRestartFromSnapshotsProducesEveryOutputOnce() throws {
        let (first, second) = Self.halves(seed: 31)
        let cluster = try LiveKafka.cluster(partitions: 2)
        defer { cluster.close() }
        let dir = try CLI.temporaryDirectory().path
        let store = try DirectorySnapshotStore(directory: dir)
        try LiveKafka.produce(first, to: cluster)
        _ = try Self.run(cluster, store: store)
        #expect(try store.latestGood(group: "exactly-once", task: 0).snapshot != nil)
        try LiveKafka.produce(second, to: cluster)
        let metrics = RekindleMetrics()
        _ = try Self.run(cluster, store: store, metrics: metrics)
        let got = try Self.outputs(cluster, partitions: 2)
        let want = Self.expected(first + second, partitions: 2)
        #expect(want.triggers.count > 500)
        #expect(got["campaign-triggers"] == want.triggers)
        #expect(got["campaign-conversions"] == want.conversions)
        #expect(got["rekindle-dead-letters"]!.count == Set(got["rekindle-dead-letters"]!).count)
        #expect(got["rekindle-dead-letters"]!.count == (first + second).filter { if case .failure = EventDecoder.decode($0) { return true } else { return false } }.count)
    }

    @Test func aCorruptNewestSnapshotFallsBackToTheOneBeforeAndNothingIsDoubled() throws {
        let (first, second) = Self.halves(seed: 32)
        let cluster = try LiveKafka.cluster(partitions: 2)
        defer { cluster.close() }
        let dir = try CLI.temporaryDirectory().path
        let store = try DirectorySnapshotStore(directory: dir)
        try LiveKafka.produce(first, to: cluster)
        _ = try Self.run(cluster, store: store)
        // Flip a byte in the newest snapshot of task 0 and cut the newest of task 1 short.
        let task0 = try store.candidates(partition: 0)
        let task1 = try store.candidates(partition: 1)
        #expect(task0.count >= 2 && task1.count >= 2)
        var flipped = task0[0].bytes
        flipped[flipped.count / 2] ^= 0x10
        try Data(flipped).write(to: URL(fileURLWithPath: task0[0].name))
        try Data(task1[0].bytes.prefix(task1[0].bytes.count - 40)).write(to: URL(fileURLWithPath: task1[0].name))
        try LiveKafka.produce(second, to: cluster)
        let metrics = RekindleMetrics()
        _ = try Self.run(cluster, store: store, metrics: metrics)
        #expect(metrics.render().contains("rekindle_snapshots_rejected_total 2"))
        let got = try Self.outputs(cluster, partitions: 2)
        let want = Self.expected(first + second, partitions: 2)
        #expect(got["campaign-triggers"] == want.triggers)
        #expect(got["campaign-conversions"] == want.conversions)
    }

    @Test func withoutSnapshotsARestartRefoldsAndProducesNothingTwice() throws {
        let (first, second) = Self.halves(seed: 33)
        let cluster = try LiveKafka.cluster(partitions: 2)
        defer { cluster.close() }
        try LiveKafka.produce(first, to: cluster)
        _ = try Self.run(cluster, store: nil)
        try LiveKafka.produce(second, to: cluster)
        let metrics = RekindleMetrics()
        _ = try Self.run(cluster, store: nil, metrics: metrics)
        let got = try Self.outputs(cluster, partitions: 2)
        let want = Self.expected(first + second, partitions: 2)
        #expect(got["campaign-triggers"] == want.triggers)
        #expect(got["campaign-conversions"] == want.conversions)
        #expect(!metrics.render().contains("rekindle_recovery_outputs_suppressed_total 0"))
    }

    /// The reported bug: another group's snapshot numbered above the task's own was restored on
    /// every restart. It is refused, and the task's new snapshots are numbered after it.
    @Test func aForeignGroupsHighNumberedSnapshotIsRefusedAndNeverShadowsTheTasksOwn() throws {
        let (first, second) = Self.halves(seed: 36)
        let cluster = try LiveKafka.cluster(partitions: 2)
        defer { cluster.close() }
        let dir = try CLI.temporaryDirectory().path
        let store = try DirectorySnapshotStore(directory: dir)
        // Another group's snapshot of task 0, far along: restoring it would skip the whole stream.
        var far = CampaignTask(rules: .defaults)
        var ignored: [Output] = []
        for line in first + second { if case .success(let e) = EventDecoder.decode(line) { far.apply(e, into: &ignored) } }
        try store.save(TaskSnapshot(
            groupId: "another-group", partition: 0, sequence: 1000, rulesVersion: RuleSet.defaults.hash, watermark: far.watermark,
            inputOffsets: TopicNames().inputs.map { OffsetEntry(topic: $0, partition: 0, offset: 1_000_000) }, outputOffsets: [],
            state: far.encodeState()))
        try LiveKafka.produce(first, to: cluster)
        let metrics = RekindleMetrics()
        _ = try Self.run(cluster, store: store, metrics: metrics)
        #expect(metrics.render().contains("rekindle_snapshots_rejected_total 1"))
        let own = try store.latestGood(group: "exactly-once", task: 0)
        #expect(try #require(own.snapshot).sequence > 1000)
        try LiveKafka.produce(second, to: cluster)
        let again = RekindleMetrics()
        _ = try Self.run(cluster, store: store, metrics: again)
        #expect(again.render().contains("rekindle_snapshots_rejected_total 0"), "the restart restores the task's own newest")
        let got = try Self.outputs(cluster, partitions: 2)
        let want = Self.expected(first + second, partitions: 2)
        #expect(got["campaign-triggers"] == want.triggers)
        #expect(got["campaign-conversions"] == want.conversions)
    }

    /// A run of one task whose snapshots `failing` (counters of epoch 1: the task claims 1.0 in
    /// its empty store, then writes 1.1, 1.2...) fail to write: their temporary files' names lead
    /// to /dev/full, as on a full disk.
    static func runWithFailingSnapshots(_ failing: [UInt64], seed: UInt64, metrics: RekindleMetrics, log: LogCapture)
        throws -> (dir: String, result: Result<LiveSummary, any Error>)
    {
        let cluster = try LiveKafka.cluster(partitions: 1)
        defer { cluster.close() }
        try LiveKafka.produce(ReplayFixture.generated(customers: 100, days: 30, seed: seed), to: cluster)
        let dir = try CLI.temporaryDirectory().path
        try FileManager.default.createDirectory(atPath: "\(dir)/task-0", withIntermediateDirectories: true)
        for seq in failing {
            try FileManager.default.createSymbolicLink(
                atPath: "\(dir)/task-0/\(DirectorySnapshotStore.fileName(SnapshotSequence(epoch: 1, counter: UInt32(seq)).raw)).tmp",
                withDestinationPath: "/dev/full")
        }
        var options = LiveOptions(bootstrap: cluster.bootstrapServers)
        options.groupId = "failing-disk"
        options.stopWhenIdleSeconds = 1
        options.snapshotStore = try DirectorySnapshotStore(directory: dir)
        options.snapshotIntervalSeconds = 0.05
        options.snapshotFailureLimit = 3
        return (dir, Result { try LiveRunner(options: options, metrics: metrics, logger: log.logger).run() })
    }

    @Test func threeSnapshotWriteFailuresInARowEndTheRunWithTheCount() throws {
        let metrics = RekindleMetrics()
        let log = LogCapture()
        let (dir, result) = try Self.runWithFailingSnapshots([1, 2, 3], seed: 37, metrics: metrics, log: log)
        let temp = { (seq: UInt32) in "\(dir)/task-0/\(DirectorySnapshotStore.fileName(SnapshotSequence(epoch: 1, counter: seq).raw)).tmp" }
        guard case .failure(let error) = result else {
            Issue.record("the run ended normally")
            return
        }
        #expect("\(error)" == "3 snapshot writes failed in a row (--snapshot-failure-limit 3); the last: task 0: snapshot 1.3 not written (cannot write \(temp(3)): No space left on device)")
        #expect(metrics.render().contains("rekindle_snapshot_write_failures_total 3"))
        #expect(log.text.contains("error: task 0: snapshot 1.1 not written (cannot write \(temp(1)): No space left on device); 1 failure in a row, the run stops at 3"))
        #expect(log.text.contains("error: task 0: snapshot 1.3 not written (cannot write \(temp(3)): No space left on device); 3 failures in a row, the run stops at 3"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/task-0")
            == [DirectorySnapshotStore.fileName(SnapshotSequence(epoch: 1, counter: 0).raw)], "the claim only: no temporary file is left")
    }

    @Test func aWrittenSnapshotResetsTheFailureCount() throws {
        let metrics = RekindleMetrics()
        let log = LogCapture()
        // Two failures, a success, two failures: never three in a row.
        let (dir, result) = try Self.runWithFailingSnapshots([1, 2, 4, 5], seed: 38, metrics: metrics, log: log)
        if case .failure(let error) = result { Issue.record("the run failed: \(error)") }
        #expect(metrics.render().contains("rekindle_snapshot_write_failures_total 4"))
        let store = try DirectorySnapshotStore(directory: dir)
        #expect(try #require(try store.latestGood(group: "failing-disk", task: 0).snapshot).sequence >= SnapshotSequence(epoch: 1, counter: 6).raw)
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/task-0").allSatisfy { $0.hasSuffix(".snap") })
    }
}

@Suite(.serialized) struct KafkaSnapshotStoreTests {
    /// The topic store goes through the same restore decision: another group's snapshot is refused.
    @Test func anotherGroupsSnapshotOnTheTopicIsRefused() throws {
        let cluster = try LiveKafka.cluster(partitions: 1)
        defer { cluster.close() }
        let store = try KafkaSnapshotStore(kafka: ["bootstrap.servers": cluster.bootstrapServers], chunkBytes: 1024)
        let state = SnapshotIdentityTests.state.bytes
        for (group, seq): (String, UInt64) in [("mine", 4), ("theirs", 5)] {
            try store.save(TaskSnapshot(groupId: group, partition: 0, sequence: seq, rulesVersion: "v", watermark: 0,
                                        inputOffsets: [], outputOffsets: [], state: state))
        }
        let found = try store.latestGood(group: "mine", task: 0)
        #expect(found.snapshot?.sequence == 4)
        #expect(found.rejected.map(\.reason) == [#"belongs to consumer group "theirs", not "mine""#])
        #expect(found.highestSequence == 5)
    }

    @Test func aMissingSnapshotTopicIsReportedAtStart() throws {
        let cluster = try LiveKafka.cluster(partitions: 1)
        defer { cluster.close() }
        let present = try KafkaSnapshotStore(kafka: ["bootstrap.servers": cluster.bootstrapServers])
        #expect(try present.prepare().isEmpty)
        let missing = try KafkaSnapshotStore(kafka: ["bootstrap.servers": cluster.bootstrapServers], topic: "no-such-topic")
        let error = #expect(throws: LiveError.self) { try missing.prepare() }
        #expect(error?.description == "snapshot topic no-such-topic not found on \(cluster.bootstrapServers) (create it compacted; see deploy/README.md)")
    }
    @Test func aRestartRestoresFromTheSnapshotTopicAndProducesEveryOutputOnce() throws {
        let (first, second) = ExactlyOnceTests.halves(seed: 34)
        let cluster = try LiveKafka.cluster(partitions: 2)
        defer { cluster.close() }
        // Small chunks: every snapshot spans several messages.
        let store = try KafkaSnapshotStore(kafka: ["bootstrap.servers": cluster.bootstrapServers], chunkBytes: 4096)
        try LiveKafka.produce(first, to: cluster)
        _ = try ExactlyOnceTests.run(cluster, store: store)
        let restored = try #require(try store.latestGood(group: "exactly-once", task: 1).snapshot)
        #expect(restored.partition == 1)
        try LiveKafka.produce(second, to: cluster)
        _ = try ExactlyOnceTests.run(cluster, store: store)
        let got = try ExactlyOnceTests.outputs(cluster, partitions: 2)
        let want = ExactlyOnceTests.expected(first + second, partitions: 2)
        #expect(got["campaign-triggers"] == want.triggers)
        #expect(got["campaign-conversions"] == want.conversions)
    }

    @Test func aTornSlotIsSkippedForTheNewestCompleteSnapshot() throws {
        let cluster = try LiveKafka.cluster(partitions: 1)
        defer { cluster.close() }
        let store = try KafkaSnapshotStore(kafka: ["bootstrap.servers": cluster.bootstrapServers], chunkBytes: 64)
        var task = CampaignTask(rules: .defaults)
        var out: [Output] = []
        for e in SnapshotTests.events.prefix(300) { task.apply(e, into: &out) }
        for seq: UInt64 in 1...2 {
            try store.save(TaskSnapshot(groupId: "g", partition: 0, sequence: seq, rulesVersion: "v", watermark: task.watermark,
                                        inputOffsets: [], outputOffsets: [], state: task.encodeState()))
        }
        #expect(try store.latestGood(group: "g", task: 0).snapshot?.sequence == 2)
        // Sequence 3 goes to slot 0: a crash after its first chunk leaves the slot torn.
        let producer = try Producer(["bootstrap.servers": cluster.bootstrapServers])
        var header = ByteHeader()
        header.put(3); header.put(0); header.put(99)
        try producer.produce(topic: "rekindle-snapshots", key: KafkaSnapshotStore.key(0, slot: 0, chunk: 0), value: header.bytes + [1, 2, 3])
        try producer.flush()
        let result = try store.latestGood(group: "g", task: 0)
        #expect(result.snapshot?.sequence == 2)
        #expect(result.rejected.count == 1)
        #expect(try CampaignTask(restoring: result.snapshot!.state, rules: .defaults).encodeState() == task.encodeState())
    }
}

@Suite(.serialized) struct TransactionTests {
    /// Transactions on: every task's outputs go through its own transactional producer. The mock
    /// implements none of their effects, so this proves only that the path works end to end and
    /// changes no output (exactly-once here rests on the recovery read, as it must).
    @Test func withTransactionsOnTheOutputsAreTheSameAsReplay() throws {
        let lines = ReplayFixture.generated(customers: 250, days: 60, seed: 35)
        let cluster = try LiveKafka.cluster(partitions: 2)
        defer { cluster.close() }
        try LiveKafka.produce(lines, to: cluster)
        var options = LiveOptions(bootstrap: cluster.bootstrapServers)
        options.groupId = "transactions"
        options.stopWhenIdleSeconds = 0.3
        options.transactions = .on
        _ = try LiveRunner(options: options).run()
        let got = try ExactlyOnceTests.outputs(cluster, partitions: 2)
        let want = ExactlyOnceTests.expected(lines, partitions: 2)
        #expect(want.triggers.count > 300)
        #expect(got["campaign-triggers"] == want.triggers)
        #expect(got["campaign-conversions"] == want.conversions)
    }
}

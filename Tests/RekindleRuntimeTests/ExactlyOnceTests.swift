import Foundation
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
        #expect(try store.latestGood(partition: 0).snapshot != nil)
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
}

@Suite(.serialized) struct KafkaSnapshotStoreTests {
    @Test func aRestartRestoresFromTheSnapshotTopicAndProducesEveryOutputOnce() throws {
        let (first, second) = ExactlyOnceTests.halves(seed: 34)
        let cluster = try LiveKafka.cluster(partitions: 2)
        defer { cluster.close() }
        // Small chunks: every snapshot spans several messages.
        let store = try KafkaSnapshotStore(kafka: ["bootstrap.servers": cluster.bootstrapServers], chunkBytes: 4096)
        try LiveKafka.produce(first, to: cluster)
        _ = try ExactlyOnceTests.run(cluster, store: store)
        let restored = try #require(try store.latestGood(partition: 1).snapshot)
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
            try store.save(TaskSnapshot(partition: 0, sequence: seq, rulesVersion: "v", watermark: task.watermark,
                                        inputOffsets: [], outputOffsets: [], state: task.encodeState()))
        }
        #expect(try store.latestGood(partition: 0).snapshot?.sequence == 2)
        // Sequence 3 goes to slot 0: a crash after its first chunk leaves the slot torn.
        let producer = try Producer(["bootstrap.servers": cluster.bootstrapServers])
        var header = ByteHeader()
        header.put(3); header.put(0); header.put(99)
        try producer.produce(topic: "rekindle-snapshots", key: KafkaSnapshotStore.key(0, slot: 0, chunk: 0), value: header.bytes + [1, 2, 3])
        try producer.flush()
        let result = try store.latestGood(partition: 0)
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

import Logging
import RekindleCore
import RekindleKafka
import RekindleRuntime
import Testing

@testable import RekindleTooling

/// The policy for a claim that is not written (see `LiveRunner.claim`): the task holds, deriving
/// and producing nothing, and retries after each poll; the failures count with the other
/// snapshot failures, so a store that keeps failing ends the run at `snapshotFailureLimit`.
/// Driven through the real `LiveRunner` over the simulated log, faults off.
@Suite struct ClaimTests {
    /// The simulated store, with the first `failures` claims failing.
    final class ClaimFailingStore: SnapshotStore, @unchecked Sendable {
        let inner: SimulatedSnapshotWriter
        var failures: Int
        var claimsTried = 0
        init(_ inner: SimulatedSnapshotWriter, failures: Int) {
            self.inner = inner
            self.failures = failures
        }
        func prepare() throws -> [String] { [] }
        func save(_ snapshot: TaskSnapshot) throws { try inner.save(snapshot) }
        func claim(_ snapshot: TaskSnapshot) throws {
            claimsTried += 1
            if failures > 0 {
                failures -= 1
                throw SimulatedDiskFull()
            }
            try inner.claim(snapshot)
        }
        func candidates(partition: Int32) throws -> [SnapshotCandidate] { try inner.candidates(partition: partition) }
    }

    struct World {
        let cluster: SimulatedCluster
        let context: InstanceContext
        let store: ClaimFailingStore
        let runner: LiveRunner

        init(claimFailures: Int, limit: Int) {
            var g = GeneratorOptions()
            g.seed = 5
            g.customers = 20
            g.days = 30
            g.products = 40
            var lines: [String] = []
            SyntheticStream.generate(g) { lines.append($0) }
            let checkers = InvariantCheckers(expected: [], badInputs: [], deadLetterTopic: TopicNames().deadLetters)
            cluster = SimulatedCluster(lines: lines, partitions: 1, rng: SplitMix64(seed: 1), checkers: checkers)
            cluster.faults = false
            context = InstanceContext(id: 0, cluster: cluster)
            store = ClaimFailingStore(SimulatedSnapshotWriter(context: context), failures: claimFailures)
            var o = LiveOptions(bootstrap: "simulated")
            o.groupId = "simulation"
            o.snapshotStore = store
            o.snapshotFailureLimit = limit
            o.transactions = .off
            o.snapshotIntervalSeconds = 1e9
            o.snapshotEveryEvents = 1 << 30
            o.progressIntervalSeconds = 1e9
            var logger = Logger(label: "claim-test")
            logger.logLevel = .critical
            runner = LiveRunner(options: o, logger: logger, transport: SimulatedTransport(context: context), clock: cluster.clock)
        }

        func iterate() throws {
            context.iteration += 1
            context.consumer?.budget = 10_000
            _ = try runner.iterate()
            for p in context.producers { p.deliver(all: true) }
        }

        var outputs: Int { cluster.outputs.values.reduce(0) { $0 + $1.count } }
    }

    @Test func aTaskWhoseClaimFailsHoldsItsOutputsAndRetriesUntilTheClaimIsWritten() throws {
        let w = World(claimFailures: 2, limit: 5)
        try w.runner.start()
        try w.iterate()  // assigned: the claim in the rebalance callback fails
        try w.iterate()  // its messages arrive; the retry after the poll fails
        #expect(w.store.claimsTried == 2)
        #expect(w.outputs == 0 && w.context.undelivered == 0, "nothing derived or produced before the claim")
        #expect(w.cluster.store.candidates(0).isEmpty)
        #expect(!w.runner.health().ready)
        try w.iterate()  // the retry writes the claim, then the held messages are folded
        #expect(w.store.claimsTried == 3)
        #expect(w.cluster.store.candidates(0).map { SnapshotSequence($0.sequence!) } == [SnapshotSequence(epoch: 1, counter: 0)])
        #expect(w.outputs > 0)
        _ = try w.runner.finish()  // the revocation snapshot continues the claimed epoch
        #expect(w.cluster.store.candidates(0).map { SnapshotSequence($0.sequence!) }.first == SnapshotSequence(epoch: 1, counter: 1))
    }

    @Test func claimsThatKeepFailingEndTheRunAtTheSnapshotFailureLimitHavingProducedNothing() throws {
        let w = World(claimFailures: 1_000, limit: 3)
        try w.runner.start()
        try w.iterate()
        try w.iterate()
        #expect(throws: (any Error).self) { try w.iterate() }
        do { try w.iterate() } catch {
            #expect("\(error)".contains("snapshot writes failed in a row") && "\(error)".contains("claim 1.0 not written"), "\(error)")
        }
        #expect(w.outputs == 0 && w.context.undelivered == 0)
    }

    /// Two processes that listed the store at once compute one epoch: the second claim is refused
    /// (not written over the first), and its task claims the next epoch on its retry.
    @Test func aClaimRefusedForItsEpochIsRetriedInTheNext() throws {
        let w = World(claimFailures: 0, limit: 5)
        // A rival claimed epoch 1 after this instance listed the store: simulated by storing it
        // as the instance's claim is written.
        let rival = TaskSnapshot(groupId: "simulation", partition: 0, sequence: SnapshotSequence(epoch: 1, counter: 0).raw,
                                 rulesVersion: RuleSet.defaults.hash, watermark: .min, inputOffsets: [], outputOffsets: [],
                                 state: CampaignTask(rules: .defaults).encodeState())
        w.context.pauseHere = { point in
            if point == "a claim write", w.cluster.store.candidates(0).isEmpty { try? w.cluster.store.save(rival) }
        }
        try w.runner.start()
        try w.iterate()
        #expect(w.cluster.checkers.counts.refusedClaims == 1)
        #expect(w.outputs == 0)
        try w.iterate()
        #expect(w.cluster.store.candidates(0).map { SnapshotSequence($0.sequence!) }
            == [SnapshotSequence(epoch: 2, counter: 0), SnapshotSequence(epoch: 1, counter: 0)])
        #expect(w.outputs > 0)
    }
}

import RekindleCore
import RekindleKafka
import RekindleRuntime
import Testing

@testable import RekindleTooling

/// Each invariant checker fires on the break it is for (so a green simulation means something),
/// and stays quiet on what the invariant allows.
@Suite struct InvariantCheckersTests {
    static let topics = TopicNames()
    static let good: [UInt8] = Array(#"{"trigger":"a"}"#.utf8)
    static let other: [UInt8] = Array(#"{"trigger":"b"}"#.utf8)

    /// A one-partition world whose replay makes `good` and `other`.
    static func cluster() -> SimulatedCluster {
        let checkers = InvariantCheckers(expected: [good, other], badInputs: ["orders|0|3"], deadLetterTopic: topics.deadLetters)
        return SimulatedCluster(lines: [], partitions: 1, rng: SplitMix64(seed: 1), checkers: checkers)
    }

    static let out = TopicPartition(topics.triggers, 0)

    @Test func anOutputTwiceOnTheLogIsADouble() {
        let c = Self.cluster()
        c.checkers.appended(Self.good, to: Self.out, by: 0)
        #expect(c.checkers.violation == nil)
        c.checkers.appended(Self.good, to: Self.out, by: 1)
        #expect(c.checkers.violation?.contains("doubled") == true)
    }

    @Test func aZombiesInFlightOutputMayLandTwiceButIsCounted() {
        let c = Self.cluster()
        c.checkers.mayDouble = [Self.good]
        c.checkers.appended(Self.good, to: Self.out, by: 0)
        c.checkers.appended(Self.good, to: Self.out, by: 0)
        #expect(c.checkers.violation == nil)
        #expect(c.checkers.counts.doubledByZombies == 1)
    }

    @Test func anOutputNoReplayMakesIsForeign() {
        let c = Self.cluster()
        c.checkers.appended(Array(#"{"trigger":"a","x":1}"#.utf8), to: Self.out, by: 0)
        #expect(c.checkers.violation?.contains("no clean replay makes") == true)
    }

    @Test func aDeadLetterForAGoodInputOrTwiceIsCaught() {
        let letter = Array(#"{"source":{"topic":"orders","partition":0,"offset":3},"error":"x"}"#.utf8)
        let dl = TopicPartition(Self.topics.deadLetters, 0)
        var c = Self.cluster()
        c.checkers.appended(letter, to: dl, by: 0)
        #expect(c.checkers.violation == nil)
        c.checkers.appended(letter, to: dl, by: 0)
        #expect(c.checkers.violation?.contains("doubled") == true)
        c = Self.cluster()
        c.checkers.appended(Array(#"{"source":{"topic":"orders","partition":0,"offset":4},"error":"x"}"#.utf8), to: dl, by: 0)
        #expect(c.checkers.violation?.contains("good input") == true)
    }

    @Test func somethingTheReplayMakesThatNeverLandedIsMissingAtTheEnd() {
        let c = Self.cluster()
        c.checkers.appended(Self.good, to: Self.out, by: 0)
        c.checkers.finishedIfSound(failed: false)
        #expect(c.checkers.violation?.contains("never reached the log") == true)
    }

    static func snapshot(task: Int32, outputEnd: Int64) -> TaskSnapshot {
        TaskSnapshot(groupId: "g", partition: task, sequence: 1, rulesVersion: "r", watermark: 0, inputOffsets: [],
                     outputOffsets: [OffsetEntry(topic: topics.triggers, partition: 0, offset: outputEnd)], state: [])
    }

    @Test func aSnapshotWhileOutputsAreInFlightClaimsWhatWasNotDelivered() throws {
        let c = Self.cluster()
        let ctx = InstanceContext(id: 0, cluster: c)
        c.members[0] = SimulatedCluster.Member(owned: [0])
        let p = SimulatedProducer(context: ctx, task: nil)
        try p.produce(topic: Self.topics.triggers, key: nil, value: Self.good, partition: nil, ticket: 1)
        c.checkers.snapshotSaved(Self.snapshot(task: 0, outputEnd: 0), by: ctx)
        #expect(c.checkers.violation?.contains("not yet delivered") == true)
    }

    static func snapshot(task: Int32, _ sequence: SnapshotSequence) -> TaskSnapshot {
        var s = snapshot(task: task, outputEnd: 0)
        s.sequence = sequence.raw
        return s
    }

    @Test func aSnapshotPastTheLogsEndIsCaught() {
        let c = Self.cluster()
        let ctx = InstanceContext(id: 0, cluster: c)
        c.members[0] = SimulatedCluster.Member(owned: [0])
        c.checkers.snapshotSaved(Self.snapshot(task: 0, outputEnd: 0), by: ctx)
        #expect(c.checkers.violation == nil)
        c.checkers.snapshotSaved(Self.snapshot(task: 0, outputEnd: 1), by: ctx)
        #expect(c.checkers.violation?.contains("past its end") == true)
    }

    /// A zombie may write a snapshot below the new owner's claimed epoch (a restore uses only the
    /// newest epoch, so it is never picked), and before any new claim (nothing was produced since
    /// it); in or above the new owner's claimed epoch it would be picked over the owner's.
    @Test func aZombieSnapshotInOrAboveTheNewOwnersClaimedEpochIsCaughtAndBelowItIsAllowed() throws {
        let c = Self.cluster()
        let zombie = InstanceContext(id: 0, cluster: c), owner = InstanceContext(id: 1, cluster: c)
        c.members[0] = SimulatedCluster.Member(owned: [0], expelled: true)
        // Before anyone else claims: allowed, and counted.
        c.checkers.snapshotSaved(Self.snapshot(task: 0, SnapshotSequence(epoch: 1, counter: 4)), by: zombie)
        try c.store.save(Self.snapshot(task: 0, SnapshotSequence(epoch: 1, counter: 4)))
        #expect(c.checkers.violation == nil && c.checkers.counts.zombieSnapshots == 1)
        // The new owner claims while being assigned (its rebalance callback runs the claim).
        c.members[1] = SimulatedCluster.Member(assigning: [0])
        c.checkers.snapshotSaved(Self.snapshot(task: 0, SnapshotSequence(epoch: 2, counter: 0)), by: owner, claim: true)
        try c.store.save(Self.snapshot(task: 0, SnapshotSequence(epoch: 2, counter: 0)))
        #expect(c.checkers.violation == nil)
        c.checkers.snapshotSaved(Self.snapshot(task: 0, SnapshotSequence(epoch: 1, counter: 5)), by: zombie)
        #expect(c.checkers.violation == nil, "below the claimed epoch: never restored")
        c.checkers.snapshotSaved(Self.snapshot(task: 0, SnapshotSequence(epoch: 2, counter: 1)), by: zombie)
        #expect(c.checkers.violation?.contains("a restore could pick it over the owner's") == true)
        // Once that owner has left the task, nobody in good standing produces for it: allowed.
        let after = Self.cluster()
        after.members[0] = SimulatedCluster.Member(owned: [0], expelled: true)
        after.members[1] = SimulatedCluster.Member(assigning: [0])
        after.checkers.snapshotSaved(Self.snapshot(task: 0, SnapshotSequence(epoch: 2, counter: 0)), by: InstanceContext(id: 1, cluster: after), claim: true)
        after.members[1] = SimulatedCluster.Member()
        after.checkers.snapshotSaved(Self.snapshot(task: 0, SnapshotSequence(epoch: 3, counter: 0)), by: InstanceContext(id: 0, cluster: after), claim: true)
        #expect(after.checkers.violation == nil)
    }

    @Test func anOwnersSnapshotThatRanksBelowOneStoredIsCaught() throws {
        let c = Self.cluster()
        let ctx = InstanceContext(id: 0, cluster: c)
        c.members[0] = SimulatedCluster.Member(owned: [0])
        try c.store.save(Self.snapshot(task: 0, SnapshotSequence(epoch: 3, counter: 0)))
        c.checkers.snapshotSaved(Self.snapshot(task: 0, SnapshotSequence(epoch: 2, counter: 9)), by: ctx)
        #expect(c.checkers.violation?.contains("ranks below snapshot 3.0 already stored") == true)
    }

    @Test func theSimulatedStoreRanksBySequenceKeepsThreeAndRefusesASecondClaim() throws {
        var store = SimulatedSnapshotStore()
        for n: UInt64 in [5, 1 << 32, 6, 7] { try store.save(Self.snapshot(task: 0, SnapshotSequence(n))) }
        #expect(store.candidates(0).map(\.sequence) == [1 << 32, 7, 6])
        #expect(throws: SimulatedSnapshotStore.Conflict.self) { try store.save(Self.snapshot(task: 0, SnapshotSequence(1 << 32)), exclusive: true) }
    }

    @Test func aCommitOfAMessageHandedOutAfterAnUndeliveredOutputIsCaught() throws {
        let c = Self.cluster()
        let ctx = InstanceContext(id: 0, cluster: c)
        let consumer = SimulatedConsumer(context: ctx)
        ctx.consumer = consumer
        let input = TopicPartition(Self.topics.orders, 0)
        let p = SimulatedProducer(context: ctx, task: nil)
        ctx.iteration = 3
        try p.produce(topic: Self.topics.triggers, key: nil, value: Self.good, partition: nil, ticket: 1)
        consumer.handedAt[input] = [0: 2, 1: 3]
        // Offset 0 came before the undelivered output's iteration: committing past it is fine.
        c.checkers.committed([TopicPartitionOffset(input, offset: 1)], by: ctx)
        #expect(c.checkers.violation == nil)
        c.checkers.committed([TopicPartitionOffset(input, offset: 2)], by: ctx)
        #expect(c.checkers.violation?.contains("were not delivered") == true)
    }

    @Test func twoOwnersOfAPartitionAreCaught() {
        let c = Self.cluster()
        c.checkers.checkOwners([0: SimulatedCluster.Member(owned: [0]), 1: SimulatedCluster.Member(owned: [0], expelled: true)])
        #expect(c.checkers.violation == nil)
        c.checkers.checkOwners([0: SimulatedCluster.Member(owned: [0]), 1: SimulatedCluster.Member(owned: [0])])
        #expect(c.checkers.violation?.contains("owned by instances 0 and 1") == true)
    }

    @Test func aNewTransactionalProducerFencesTheOldOneAndAbortsItsOpenTransaction() throws {
        let c = Self.cluster()
        let old = SimulatedProducer(context: InstanceContext(id: 0, cluster: c), task: 0)
        try old.beginTransaction()
        try old.produce(topic: Self.topics.triggers, key: nil, value: Self.good, partition: nil, ticket: 1)
        old.deliver(all: true)
        _ = SimulatedProducer(context: InstanceContext(id: 1, cluster: c), task: 0)
        #expect(old.fenced)
        #expect(throws: KafkaError.self) { try old.commitTransaction(timeoutMs: 0) }
        #expect(c.outputs[Self.out]!.isEmpty)
    }
}

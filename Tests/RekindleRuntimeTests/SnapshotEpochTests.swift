import Foundation
import RekindleCore
import RekindleKafka
@testable import RekindleRuntime
import Testing

/// Owner epochs: a task that is assigned claims the epoch after every snapshot stored for it
/// before it folds, restores use only the newest epoch, and snapshots written before epochs
/// existed (epoch 0) still restore. Why: a zombie's late snapshot must never be restored over
/// its task's new owner's (see `SnapshotSequence`).
@Suite struct SnapshotEpochTests {
    static func snapshot(group: String = "mine", task k: Int32 = 0, _ sequence: SnapshotSequence, offset: Int64 = 40) -> TaskSnapshot {
        TaskSnapshot(groupId: group, partition: k, sequence: sequence.raw, rulesVersion: RuleSet.defaults.hash,
                     watermark: SnapshotIdentityTests.state.task.watermark,
                     inputOffsets: [OffsetEntry(topic: "orders", partition: k, offset: offset)], outputOffsets: [],
                     state: SnapshotIdentityTests.state.bytes)
    }

    static func candidate(_ s: TaskSnapshot) -> SnapshotCandidate {
        SnapshotCandidate(name: "snap-\(SnapshotSequence(s.sequence))", sequence: s.sequence, bytes: s.encoded())
    }

    @Test func aSequenceIsItsEpochThenItsCounterAndSortsSo() {
        let old = SnapshotSequence(4_000_000_000)  // a pre-epoch number below 2^32: epoch 0
        #expect(old.epoch == 0 && old.counter == 4_000_000_000 && "\(old)" == "4000000000")
        let claim = old.nextClaim
        #expect(claim == SnapshotSequence(epoch: 1, counter: 0) && claim.raw == 1 << 32 && "\(claim)" == "1.0")
        #expect(old < claim && SnapshotSequence(epoch: 1, counter: 7) < SnapshotSequence(epoch: 2, counter: 0))
        // The directory store's names sort as restores rank: 20 digits of the whole number.
        let names = [SnapshotSequence(epoch: 2, counter: 0), SnapshotSequence(epoch: 1, counter: 900), SnapshotSequence(5)]
            .map { DirectorySnapshotStore.fileName($0.raw) }
        #expect(names == names.sorted(by: >))
    }

    @Test func aRestorePicksTheNewestEpochOverAHigherCounterOfAnOlderOne() {
        // A zombie in epoch 1 went on to counter 9 after the new owner claimed epoch 2.
        let zombie = Self.snapshot(SnapshotSequence(epoch: 1, counter: 9), offset: 90)
        let claim = Self.snapshot(SnapshotSequence(epoch: 2, counter: 0), offset: 40)
        let candidates = [claim, zombie].map(Self.candidate)
        let found = SnapshotSelection.newestGood(candidates, group: "mine", task: 0) { _ in () }.found
        #expect(found.snapshot == claim)
        #expect(found.rejected.isEmpty, "an older epoch is not reported when the newest restores")
        #expect(SnapshotSequence(found.highestSequence).nextClaim == SnapshotSequence(epoch: 3, counter: 0))
    }

    @Test func whenTheNewestEpochIsUnreadableOlderEpochsAreNotTrustedAndTheTaskRefolds() {
        let zombie = Self.candidate(Self.snapshot(SnapshotSequence(epoch: 1, counter: 9)))
        var claim = Self.candidate(Self.snapshot(SnapshotSequence(epoch: 2, counter: 0)))
        claim.bytes[claim.bytes.count / 2] ^= 1
        let found = SnapshotSelection.newestGood([claim, zombie], group: "mine", task: 0) { _ in () }.found
        #expect(found.snapshot == nil)
        #expect(found.rejected.map(\.reason).first == "checksum mismatch")
        #expect(found.rejected.last?.reason.contains("owner epoch 1 is older than the task's newest, 2") == true, "\(found.rejected)")
        // An unreadable claim still counts for the next epoch.
        #expect(SnapshotSequence(found.highestSequence).epoch == 2)
    }

    @Test func anotherGroupsNewerEpochDoesNotHideTheTasksOwn() {
        let theirs = Self.candidate(Self.snapshot(group: "theirs", SnapshotSequence(epoch: 5, counter: 0)))
        let mine = Self.candidate(Self.snapshot(SnapshotSequence(epoch: 1, counter: 3)))
        let found = SnapshotSelection.newestGood([theirs, mine], group: "mine", task: 0) { _ in () }.found
        #expect(found.snapshot?.sequence == SnapshotSequence(epoch: 1, counter: 3).raw)
    }

    @Test func aSnapshotWrittenBeforeEpochsRestoresAndItsTaskClaimsEpochOne() throws {
        let log = LogCapture()
        var engine = SnapshotIdentityTests.engine(log)
        let old = SnapshotIdentityTests.candidate(group: "mine", sequence: 17, offset: 40)
        #expect(engine.restore(0, from: [old]) == [OffsetEntry(topic: "orders", partition: 0, offset: 40)])
        let claim = engine.claimSnapshot(0)
        #expect(SnapshotSequence(claim.sequence) == SnapshotSequence(epoch: 1, counter: 0))
        // The claim is the restored snapshot renumbered: same offsets, watermark and state.
        let restored = try TaskSnapshot.decode(old.bytes)
        #expect(claim.inputOffsets == restored.inputOffsets && claim.state == restored.state && claim.watermark == restored.watermark)
        engine.claimed(0, sequence: claim.sequence)
        #expect(SnapshotSequence(SnapshotIdentityTests.nextSnapshot(&engine, task: 0).sequence) == SnapshotSequence(epoch: 1, counter: 1))
        // Format 1 (no group) as well, claimed in this group's name.
        var engine1 = SnapshotIdentityTests.engine(log)
        _ = engine1.restore(0, from: [SnapshotIdentityTests.candidate(group: nil, sequence: 3)])
        #expect(engine1.claimSnapshot(0).groupId == "mine")
    }

    @Test func aTaskWithoutItsClaimFoldsNothingAndIsNotSnapshotted() {
        let log = LogCapture()
        var engine = SnapshotIdentityTests.engine(log)
        _ = engine.restore(0, from: [])
        engine.holdUnclaimed(0, claim: engine.claimSnapshot(0))
        let tp = TopicPartition("orders", 0)
        let order = Array(#"{"type":"order","customer_id":"c1","order_id":"o1","occurred_at":"2024-01-01T00:00:00Z","total":10}"#.utf8)
        var out: [LiveEngine.TaskOutput] = []
        var dead: [LiveEngine.DeadLetterOut] = []
        let tps = TopicNames().inputs.map { TopicPartition($0, 0) }
        let (idle, folded) = engine.step(
            [.assigned(tps), .message(ConsumedMessage(topicPartition: tp, offset: 0, key: nil, value: order, timestamp: nil))]
                + tps.map { .endOfPartition($0, offset: $0 == tp ? 1 : 0) },
            out: &out, dead: &dead) { _ in OutputLedger() }
        #expect(folded == 0 && !idle && out.isEmpty && dead.isEmpty)
        #expect(engine.snapshots(of: nil, outputOffsets: []).isEmpty)
        engine.claimed(0, sequence: SnapshotSequence(epoch: 1, counter: 0).raw)
        let again = engine.step([], out: &out, dead: &dead) { _ in OutputLedger() }
        #expect(again.folded + dead.count == 1, "the held message is folded once the claim is stored")
        #expect(engine.snapshots(of: nil, outputOffsets: []).map { SnapshotSequence($0.sequence) } == [SnapshotSequence(epoch: 1, counter: 1)])
    }

    @Test func theDirectoryStoreRefusesASecondClaimOfAnEpochAndKeepsTheFirst() throws {
        let dir = try CLI.temporaryDirectory().path
        let store = try DirectorySnapshotStore(directory: dir)
        try store.prepare()
        try store.save(Self.snapshot(SnapshotSequence(7)))  // written before epochs
        let first = Self.snapshot(SnapshotSequence(epoch: 1, counter: 0), offset: 40)
        try store.claim(first)
        #expect(throws: FileError.self) { try store.claim(Self.snapshot(SnapshotSequence(epoch: 1, counter: 0), offset: 99)) }
        do { try store.claim(Self.snapshot(SnapshotSequence(epoch: 1, counter: 0), offset: 99)) } catch {
            #expect("\(error)".contains("another owner claimed this epoch first"))
        }
        #expect(try store.latestGood(group: "mine", task: 0).snapshot == first)
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/task-0").sorted()
            == ["00000000000000000007.snap", DirectorySnapshotStore.fileName(first.sequence)], "no temporary file is left")
        // A zombie's later write in epoch 0 is stored, and ranks below the claim.
        try store.save(Self.snapshot(SnapshotSequence(8), offset: 80))
        #expect(try store.latestGood(group: "mine", task: 0).snapshot == first)
    }

    /// The rival's later snapshots may have pruned its claim: a claim is refused when anything at
    /// or above it is stored, not only its own name.
    @Test func theDirectoryStoreRefusesAClaimBelowWhatIsStoredEvenWhenTheRivalsClaimIsPruned() throws {
        let dir = try CLI.temporaryDirectory().path
        let store = try DirectorySnapshotStore(directory: dir, keep: 2)
        try store.prepare()
        for c: UInt32 in 0...3 { try store.save(Self.snapshot(SnapshotSequence(epoch: 4, counter: c))) }
        #expect(try store.candidates(partition: 0).map(\.sequence) == [SnapshotSequence(epoch: 4, counter: 3).raw, SnapshotSequence(epoch: 4, counter: 2).raw])
        #expect(throws: FileError.self) { try store.claim(Self.snapshot(SnapshotSequence(epoch: 4, counter: 0))) }
        try store.claim(Self.snapshot(SnapshotSequence(epoch: 5, counter: 0)))
        #expect(try store.latestGood(group: "mine", task: 0).snapshot?.sequence == SnapshotSequence(epoch: 5, counter: 0).raw)
    }

    /// A task given and taken back in one batch of consumer events (its owner was paused inside
    /// the rebalance) is not re-created by the assignment still in the batch.
    @Test func anAssignmentRevokedLaterInTheSameBatchIsDropped() {
        let a = TopicPartition("orders", 0), b = TopicPartition("orders", 1)
        let events: [ConsumerEvent] = [.assigned([a, b]), .revoked([a]), .assigned([a]), .revoked([b])]
        let kept = LiveRunner.withoutRevokedAssignments(events)
        #expect("\(kept)" == "\([ConsumerEvent.revoked([a]), .assigned([a]), .revoked([b])] as [ConsumerEvent])")
    }

    @Test func kafkaStoreKeysCarryTheEpochAndEpochZeroKeepsItsOldKeys() {
        #expect(String(decoding: KafkaSnapshotStore.key(3, slot: 1, chunk: 0), as: UTF8.self) == "task-3/slot-1/chunk-0")
        #expect(String(decoding: KafkaSnapshotStore.key(3, epoch: 2, slot: 1, chunk: 4), as: UTF8.self) == "task-3/epoch-2/slot-1/chunk-4")
        #expect(KafkaSnapshotStore.parse("task-3/slot-1/chunk-0", task: 3)! == (0, 1))
        #expect(KafkaSnapshotStore.parse("task-3/epoch-2/slot-1/chunk-4", task: 3)! == (2, 1))
        #expect(KafkaSnapshotStore.parse("task-30/slot-1/chunk-0", task: 3) == nil)
        #expect(KafkaSnapshotStore.parse("task-3/epoch-x/slot-1/chunk-0", task: 3) == nil)
    }
}

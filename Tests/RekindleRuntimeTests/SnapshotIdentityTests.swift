import Foundation
import Logging
import RekindleCore
import RekindleKafka
@testable import RekindleRuntime
import Testing

/// Snapshots name their consumer group, task and rule set: a task restores only its own, says so
/// when it cannot, and numbers its new snapshots after everything in the store.
@Suite struct SnapshotIdentityTests {
    static let state: (task: CampaignTask, bytes: [UInt8]) = {
        var task = CampaignTask(rules: .defaults)
        var out: [Output] = []
        for e in SnapshotTests.events.prefix(500) { task.apply(e, into: &out) }
        return (task, task.encodeState())
    }()

    /// A stored snapshot of `group`'s task `task` (format 1 when `group` is nil) that resumes the
    /// orders partition at `offset`.
    static func candidate(group: String?, task k: Int32 = 0, sequence: UInt64, rules: String = RuleSet.defaults.hash,
                          offset: Int64 = 40) -> SnapshotCandidate {
        var s = TaskSnapshot(
            groupId: "", partition: k, sequence: sequence, rulesVersion: rules, watermark: state.task.watermark,
            inputOffsets: [OffsetEntry(topic: "orders", partition: k, offset: offset)], outputOffsets: [], state: state.bytes)
        s.groupId = group
        return SnapshotCandidate(name: "snap-\(sequence)", sequence: sequence, bytes: s.encoded())
    }

    static func engine(_ log: LogCapture, metrics: RekindleMetrics? = nil) -> LiveEngine {
        LiveEngine(rules: .defaults, topics: TopicNames(), allowedLatenessMs: 0, metrics: metrics, logger: log.logger, groupId: "mine")
    }

    /// Assigns task `k` (after `restore`) and takes its next snapshot.
    static func nextSnapshot(_ engine: inout LiveEngine, task k: Int32) -> TaskSnapshot {
        let tps = TopicNames().inputs.map { TopicPartition($0, k) }
        var out: [LiveEngine.TaskOutput] = []
        var dead: [LiveEngine.DeadLetterOut] = []
        _ = engine.step([.assigned(tps)] + tps.map { .endOfPartition($0, offset: 0) }, out: &out, dead: &dead) { _ in OutputLedger() }
        return engine.snapshots(of: [k], outputOffsets: []).first!
    }

    @Test func anotherGroupsSnapshotIsRefusedAndTheTasksOwnOlderOneIsUsed() {
        let log = LogCapture()
        let metrics = RekindleMetrics()
        var engine = Self.engine(log, metrics: metrics)
        let resume = engine.restore(0, from: [
            Self.candidate(group: "theirs", sequence: 9, offset: 99), Self.candidate(group: "mine", sequence: 4, offset: 40),
        ])
        #expect(resume == [OffsetEntry(topic: "orders", partition: 0, offset: 40)])
        #expect(log.text.contains(#"warning: task 0: snapshot snap-9 rejected (belongs to consumer group "theirs", not "mine")"#))
        #expect(metrics.render().contains("rekindle_snapshots_rejected_total 1"))
        let next = Self.nextSnapshot(&engine, task: 0)
        #expect(next.sequence == 10, "numbered after the foreign snapshot, so it never shadows the task's own")
        #expect(next.groupId == "mine")
    }

    @Test func anotherTasksSnapshotIsRefused() {
        let log = LogCapture()
        var engine = Self.engine(log)
        let resume = engine.restore(2, from: [
            Self.candidate(group: "mine", task: 3, sequence: 7, offset: 70), Self.candidate(group: "mine", task: 2, sequence: 5, offset: 50),
        ])
        #expect(resume == [OffsetEntry(topic: "orders", partition: 2, offset: 50)])
        #expect(log.text.contains("warning: task 2: snapshot snap-7 rejected (belongs to task 3, not task 2)"))
        #expect(Self.nextSnapshot(&engine, task: 2).sequence == 8)
    }

    /// Format 1 did not record the group: such a snapshot is its task's in any group, as before.
    @Test func aFormat1SnapshotIsAcceptedForItsTaskAndTheLogSaysItNamesNoGroup() {
        let log = LogCapture()
        var engine = Self.engine(log)
        let old = Self.candidate(group: nil, sequence: 3, offset: 30)
        #expect(old.bytes[6] == 1)
        #expect(engine.restore(0, from: [old]) == [OffsetEntry(topic: "orders", partition: 0, offset: 30)])
        #expect(log.text.contains("snapshot 3 is format 1, which records no consumer group: accepted for task 0"))
        #expect(!log.text.contains("warning"))
        #expect(Self.nextSnapshot(&engine, task: 0).encoded()[6] == 2, "new snapshots are format 2")
    }

    /// Rules are carried over on restore (spec section 4), so another rule set is fine, but said.
    @Test func aSnapshotOfAnotherRuleSetIsRestoredAndTheLogSaysSo() throws {
        let log = LogCapture()
        var engine = Self.engine(log)
        #expect(engine.restore(0, from: [Self.candidate(group: "mine", sequence: 6, rules: "0123abcd")]).count == 1)
        #expect(log.text.contains("task 0: snapshot 6 was taken under rules 0123abcd, not the current \(RuleSet.defaults.hash)"))
        let restored = try #require(engine.restoring[0])
        #expect(restored.task.encodeState() == Self.state.bytes)
    }

    @Test func whenEverySnapshotIsRejectedAWarningSaysTheTaskRefoldsFromTheBeginning() {
        let log = LogCapture()
        var engine = Self.engine(log)
        // An unreadable file numbered far above the rest, and another group's snapshot.
        let resume = engine.restore(0, from: [
            SnapshotCandidate(name: "snap-5000", sequence: 5000, bytes: [1, 2, 3]), Self.candidate(group: "theirs", sequence: 12),
        ])
        #expect(resume.isEmpty)
        #expect(log.text.contains(
            #"warning: task 0: all 2 stored snapshots rejected (snap-5000: truncated: 3 bytes; snap-12: belongs to consumer group "theirs", not "mine"); re-folding its partitions from the beginning"#))
        #expect(Self.nextSnapshot(&engine, task: 0).sequence == 5001)
    }

    @Test func aTaskWithoutSnapshotsRefoldsWithoutAWarning() {
        let log = LogCapture()
        var engine = Self.engine(log)
        #expect(engine.restore(0, from: [SnapshotCandidate]()).isEmpty)
        #expect(!log.text.contains("warning"))
        #expect(Self.nextSnapshot(&engine, task: 0).sequence == 1)
    }
}

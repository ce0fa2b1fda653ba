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

/// The snapshot directory: checked at start, cleaned of interrupted writes, and a failed write
/// leaves nothing behind.
@Suite struct DirectorySnapshotStoreTests {
    static func snapshot(sequence: UInt64) -> TaskSnapshot {
        TaskSnapshot(groupId: "mine", partition: 0, sequence: sequence, rulesVersion: RuleSet.defaults.hash, watermark: 0,
                     inputOffsets: [], outputOffsets: [], state: SnapshotIdentityTests.state.bytes)
    }

    /// Root ignores permissions, so the directory is made unusable another way: its parent is a file.
    @Test func aDirectoryThatCannotBeCreatedIsReportedWithItsPathAndTheSystemsReason() throws {
        let root = try CLI.temporaryDirectory().path
        try Data("not a directory".utf8).write(to: URL(fileURLWithPath: "\(root)/file"))
        let store = try DirectorySnapshotStore(directory: "\(root)/file/snapshots")
        #expect(throws: LiveError.self) { try store.prepare() }
        do { try store.prepare() } catch {
            #expect("\(error)" == "snapshot directory \(root)/file/snapshots is not writable: cannot create directory \(root)/file/snapshots: Not a directory")
        }
        let inTheWay = try DirectorySnapshotStore(directory: "\(root)/file")
        do { try inTheWay.prepare() } catch {
            #expect("\(error)" == "snapshot directory \(root)/file is not writable: cannot create directory \(root)/file: a file of that name is in the way")
        }
    }

    /// The probe is written and fsynced: a full disk (the probe's name leads to /dev/full) is found at start.
    @Test func aDirectoryThatTakesNoWriteIsFoundByTheProbe() throws {
        let dir = try CLI.temporaryDirectory().path
        let probe = "\(dir)/.rekindle-probe-\(getpid())"
        try FileManager.default.createSymbolicLink(atPath: probe, withDestinationPath: "/dev/full")
        #expect(throws: LiveError.self) { try DirectorySnapshotStore(directory: dir).prepare() }
        do { try DirectorySnapshotStore(directory: dir).prepare() } catch {
            #expect("\(error)" == "snapshot directory \(dir) is not writable: cannot write \(probe): No space left on device")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "the probe is removed")
        #expect(try DirectorySnapshotStore(directory: dir).prepare().isEmpty)
    }

    @Test func staleTemporaryFilesAreRemovedWhenTheStoreIsPrepared() throws {
        let dir = try CLI.temporaryDirectory().path
        let store = try DirectorySnapshotStore(directory: dir)
        try store.save(Self.snapshot(sequence: 1))
        for name in ["task-0/00000000000000000002.snap.tmp", "task-3/00000000000000000007.snap.tmp"] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\((name as NSString).deletingLastPathComponent)", withIntermediateDirectories: true)
            try Data().write(to: URL(fileURLWithPath: "\(dir)/\(name)"))
        }
        #expect(try store.prepare() == ["\(dir)/task-0/00000000000000000002.snap.tmp", "\(dir)/task-3/00000000000000000007.snap.tmp"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/task-0") == ["00000000000000000001.snap"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/task-3").isEmpty)
        #expect(try store.latestGood(group: "mine", task: 0).snapshot == Self.snapshot(sequence: 1))
    }

    /// A write that fails (the disk is full: the temporary file's name leads to /dev/full) throws
    /// with the path and the system's reason and leaves no temporary file.
    @Test func aFailedWriteRemovesItsTemporaryFile() throws {
        let dir = try CLI.temporaryDirectory().path
        let store = try DirectorySnapshotStore(directory: dir)
        try store.prepare()
        try FileManager.default.createDirectory(atPath: "\(dir)/task-0", withIntermediateDirectories: true)
        let temp = "\(dir)/task-0/00000000000000000004.snap.tmp"
        try FileManager.default.createSymbolicLink(atPath: temp, withDestinationPath: "/dev/full")
        #expect(throws: FileError.self) { try store.save(Self.snapshot(sequence: 4)) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/task-0").isEmpty)
        try FileManager.default.createSymbolicLink(atPath: temp, withDestinationPath: "/dev/full")
        do { try store.save(Self.snapshot(sequence: 4)) } catch {
            #expect("\(error)" == "cannot write \(temp): No space left on device")
        }
        try store.save(Self.snapshot(sequence: 5))
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/task-0") == ["00000000000000000005.snap"])
    }

    /// Numbering counts every file in the task's directory, readable or not, the task's or not.
    @Test func candidatesCarryTheSequenceOfTheirFileName() throws {
        let dir = try CLI.temporaryDirectory().path
        let store = try DirectorySnapshotStore(directory: dir)
        try store.save(Self.snapshot(sequence: 3))
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: "\(dir)/task-0/00000000000000002000.snap"))
        var foreign = Self.snapshot(sequence: 1000)
        foreign.groupId = "theirs"
        try store.save(foreign)
        #expect(try store.candidates(partition: 0).map(\.sequence) == [2000, 1000, 3])
        let found = try store.latestGood(group: "mine", task: 0)
        #expect(found.snapshot?.sequence == 3)
        #expect(found.highestSequence == 2000)
        #expect(found.rejected.map(\.reason) == ["truncated: 3 bytes", #"belongs to consumer group "theirs", not "mine""#])
    }
}

/// How many failed snapshot writes in a row end a run, and what `run` says of a store it cannot use.
@Suite struct SnapshotSettingsTests {
    @Test func theFailureLimitComesFromTheFileTheEnvironmentOrAFlag() throws {
        #expect(RunConfiguration().snapshotFailureLimit == 3)
        let url = try CLI.temporaryDirectory().appendingPathComponent("rekindle.yaml")
        try "snapshot_failure_limit: 5\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(try RunConfiguration.load(file: url.path, environment: [:]).snapshotFailureLimit == 5)
        #expect(try RunConfiguration.load(file: url.path, environment: ["REKINDLE_SNAPSHOT_FAILURE_LIMIT": "7"]).snapshotFailureLimit == 7)
        let env = #expect(throws: ConfigError.self) {
            try RunConfiguration.load(file: nil, environment: ["REKINDLE_SNAPSHOT_FAILURE_LIMIT": "0"])
        }
        #expect(env?.message == "REKINDLE_SNAPSHOT_FAILURE_LIMIT: expected a whole number > 0")
        try "snapshot_failure_limit: never\n".write(to: url, atomically: true, encoding: .utf8)
        let file = #expect(throws: ConfigError.self) { try RunConfiguration.load(file: url.path, environment: [:]) }
        #expect(file?.message == "\(url.path): snapshot_failure_limit: expected a whole number > 0")
        let flag = try CLI.rekindle(["run", "--bootstrap", "127.0.0.1:1", "--http", "off", "--snapshot-failure-limit", "0"])
        #expect(flag.status == 2)
        #expect(flag.stderr.contains("--snapshot-failure-limit: expected > 0"))
    }

    /// Before it connects to anything, `run` exits 1 naming a snapshot directory it cannot write.
    @Test func runRefusesASnapshotDirectoryItCannotWrite() throws {
        let root = try CLI.temporaryDirectory().path
        try Data("a file, not a directory".utf8).write(to: URL(fileURLWithPath: "\(root)/file"))
        let r = try CLI.rekindle(["run", "--bootstrap", "127.0.0.1:1", "--http", "off", "--snapshot-dir", "\(root)/file/snapshots"])
        #expect(r.status == 1)
        #expect(r.stderr.contains(
            "rekindle: snapshot directory \(root)/file/snapshots is not writable: cannot create directory \(root)/file/snapshots: Not a directory"),
            "\(r.stderr)")
    }
}

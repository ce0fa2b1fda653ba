import Foundation
import RekindleCore
@testable import RekindleRuntime
import Testing

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

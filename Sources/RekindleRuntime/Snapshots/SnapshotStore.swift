import RekindleCore

/// Where task snapshots live (spec section 5, Checkpoints). Implementations write atomically and
/// keep the last few, so a corrupt newest snapshot falls back to the one before.
public protocol SnapshotStore: Sendable {
    /// Checks that snapshots can be written here and clears what an interrupted write left behind;
    /// `run` calls it before it consumes anything. Returns what it removed, for the log; throws,
    /// naming the store and the system's reason, when snapshots cannot be written.
    @discardableResult func prepare() throws -> [String]
    /// Writes the snapshot, or throws naming where and why; a failed write leaves nothing behind.
    func save(_ snapshot: TaskSnapshot) throws
    /// Every stored snapshot of the task, newest first.
    func candidates(partition: Int32) throws -> [SnapshotCandidate]
}

/// One stored snapshot as its store found it, before it is decoded.
public struct SnapshotCandidate: Sendable {
    /// Where it is, for messages.
    public var name: String
    /// The sequence the store filed it under (file name, chunk header), known even when the bytes
    /// are unreadable: numbering continues after it.
    public var sequence: UInt64?
    public var bytes: [UInt8]

    public init(name: String, sequence: UInt64?, bytes: [UInt8]) {
        self.name = name
        self.sequence = sequence
        self.bytes = bytes
    }
}

public struct RestoredSnapshot: Sendable {
    public var snapshot: TaskSnapshot?
    /// Snapshots that were skipped, with why (truncated, bit-flipped, wrong version, another
    /// consumer group's, another task's), newest first.
    public var rejected: [(name: String, reason: String)]
    /// The highest sequence among the task's stored snapshots, readable or not, its own or not:
    /// the task's next snapshot is numbered after it, so nothing stored can shadow its new ones.
    public var highestSequence: UInt64
}

/// The one restore decision, for every store: the newest candidate that decodes, is this consumer
/// group's task and that `restore` accepts.
public enum SnapshotSelection {
    public static func newestGood<Restored>(
        _ candidates: [SnapshotCandidate], group: String, task: Int32,
        restore: (TaskSnapshot) throws(SnapshotError) -> Restored
    ) -> (found: RestoredSnapshot, restored: Restored?) {
        var found = RestoredSnapshot(
            snapshot: nil, rejected: [], highestSequence: candidates.compactMap(\.sequence).max() ?? 0)
        var restored: Restored?
        for candidate in candidates {
            guard restored == nil else {
                // An older one: only its sequence counts, read from it when the store has none.
                if candidate.sequence == nil, let s = try? TaskSnapshot.decode(candidate.bytes) {
                    found.highestSequence = max(found.highestSequence, s.sequence)
                }
                continue
            }
            do throws(SnapshotError) {
                let s = try TaskSnapshot.decode(candidate.bytes)
                found.highestSequence = max(found.highestSequence, s.sequence)
                if let why = s.foreignness(group: group, task: task) { throw SnapshotError(why) }
                restored = try restore(s)
                found.snapshot = s
            } catch {
                found.rejected.append((candidate.name, error.message))
            }
        }
        return (found, restored)
    }
}

extension SnapshotStore {
    /// The newest snapshot of the consumer group's task that decodes and is theirs; the others
    /// are reported.
    public func latestGood(group: String, task: Int32) throws -> RestoredSnapshot {
        SnapshotSelection.newestGood(try candidates(partition: task), group: group, task: task) { _ in () }.found
    }
}

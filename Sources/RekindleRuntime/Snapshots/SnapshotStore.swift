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
    /// Writes a task's claim snapshot (the first of a new owner epoch, see `SnapshotSequence`),
    /// refusing, where the store can, when a snapshot of that sequence is already stored: two
    /// processes that listed the store at once computed the same epoch, and only one may own it.
    /// The default is `save`, for a store that cannot write conditionally.
    func claim(_ snapshot: TaskSnapshot) throws
    /// Every stored snapshot of the task, newest first.
    func candidates(partition: Int32) throws -> [SnapshotCandidate]
}

extension SnapshotStore {
    public func claim(_ snapshot: TaskSnapshot) throws { try save(snapshot) }
}

/// A snapshot sequence number: the owner epoch in the high 32 bits, a counter in the low 32.
///
/// Why: snapshot stores are not fenced, so a zombie (a process paused past its session timeout,
/// whose tasks moved, which then resumes) can still write a snapshot of a task it no longer
/// owns. A task that is assigned therefore first writes a claim: its restored state renumbered
/// `(epoch: 1 + the highest epoch stored for the task, counter: 0)`, before it folds or
/// produces anything. Every later write of an earlier owner is in a lower epoch, so it sorts
/// below the new owner's, and a restore considers only the newest epoch (`SnapshotSelection`).
/// Numbers keep their `UInt64` order, which is (epoch, counter): file names, chunk headers and
/// older builds sort them correctly unchanged, and snapshots written before epochs existed are
/// epoch 0.
public struct SnapshotSequence: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var raw: UInt64
    public init(_ raw: UInt64) { self.raw = raw }
    public init(epoch: UInt32, counter: UInt32) { raw = UInt64(epoch) << 32 | UInt64(counter) }
    public var epoch: UInt32 { UInt32(truncatingIfNeeded: raw >> 32) }
    public var counter: UInt32 { UInt32(truncatingIfNeeded: raw) }
    /// The claim of the next owner after this, the highest stored sequence of the task.
    public var nextClaim: SnapshotSequence { SnapshotSequence(epoch: epoch &+ 1, counter: 0) }
    public static func < (a: Self, b: Self) -> Bool { a.raw < b.raw }
    /// `epoch.counter` in logs and messages; a pre-epoch number as it always read.
    public var description: String { epoch == 0 ? "\(counter)" : "\(epoch).\(counter)" }
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

/// The one restore decision, for every store: the newest candidate of the task's newest owner
/// epoch that decodes, is this consumer group's task and that `restore` accepts.
///
/// Only the newest epoch: a snapshot of an older epoch may have been written by a zombie after
/// the newest epoch's owner claimed the task and produced outputs. Its output offsets then
/// include outputs its state never derived, and restoring it would derive them again. So when
/// every snapshot of the newest epoch is unreadable, the task re-folds from the beginning
/// (which is always safe) rather than trust an older epoch.
public enum SnapshotSelection {
    public static func newestGood<Restored>(
        _ candidates: [SnapshotCandidate], group: String, task: Int32,
        restore: (TaskSnapshot) throws(SnapshotError) -> Restored
    ) -> (found: RestoredSnapshot, restored: Restored?) {
        // Each candidate decoded once. Its number: as filed by its store, else from its bytes
        // (nil: unreadable and unfiled). The newest epoch counts every candidate but another
        // group's or task's (a stray file cannot be a former owner of this task): an unreadable
        // one may be the newest owner's claim.
        let decoded = candidates.map { c -> Result<TaskSnapshot, SnapshotError> in
            do throws(SnapshotError) { return .success(try TaskSnapshot.decode(c.bytes)) } catch { return .failure(error) }
        }
        let numbers = zip(candidates, decoded).map { c, d in c.sequence ?? (try? d.get())?.sequence }
        let newestEpoch = zip(numbers, decoded).compactMap { n, d -> UInt32? in
            if case .success(let s) = d, s.foreignness(group: group, task: task) != nil { return nil }
            return n.map { SnapshotSequence($0).epoch }
        }.max() ?? 0
        var found = RestoredSnapshot(
            snapshot: nil, rejected: [],
            highestSequence: (numbers.compactMap { $0 } + decoded.compactMap { try? $0.get().sequence }).max() ?? 0)
        var restored: Restored?
        for (i, candidate) in candidates.enumerated() where restored == nil {
            if let number = numbers[i], SnapshotSequence(number).epoch < newestEpoch {
                found.rejected.append((candidate.name, "owner epoch \(SnapshotSequence(number).epoch) is older than the task's newest, \(newestEpoch), none of whose snapshots restores: a former owner may have written it after the task moved"))
                continue
            }
            do throws(SnapshotError) {
                let s = try decoded[i].get()
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

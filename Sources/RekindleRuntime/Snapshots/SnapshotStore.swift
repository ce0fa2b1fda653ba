import RekindleCore

/// Where task snapshots live (spec section 5, Checkpoints). Implementations write atomically and
/// keep the last few, so a corrupt newest snapshot falls back to the one before.
public protocol SnapshotStore: Sendable {
    func save(_ snapshot: TaskSnapshot) throws
    /// Every stored snapshot of the task, newest first, as bytes with a name for messages.
    func candidates(partition: Int32) throws -> [(name: String, bytes: [UInt8])]
}

public struct RestoredSnapshot: Sendable {
    public var snapshot: TaskSnapshot?
    /// Snapshots that were skipped, with why (truncated, bit-flipped, wrong version, wrong task).
    public var rejected: [(name: String, reason: String)]
}

extension SnapshotStore {
    /// The newest snapshot of the task that decodes and is the task's; the others are reported.
    public func latestGood(partition: Int32) throws -> RestoredSnapshot {
        var rejected: [(String, String)] = []
        for (name, bytes) in try candidates(partition: partition) {
            do {
                let s = try TaskSnapshot.decode(bytes)
                guard s.partition == partition else {
                    rejected.append((name, "belongs to task \(s.partition)"))
                    continue
                }
                return RestoredSnapshot(snapshot: s, rejected: rejected)
            } catch {
                rejected.append((name, error.message))
            }
        }
        return RestoredSnapshot(snapshot: nil, rejected: rejected)
    }
}

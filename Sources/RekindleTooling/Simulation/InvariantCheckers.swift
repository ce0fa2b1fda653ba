import RekindleCore
import RekindleKafka
import RekindleRuntime

/// The invariants of spec section 5, each checked where the simulated world can see it break,
/// at the step it breaks, not only at the end:
/// - `appended`: every output that becomes visible is one a clean replay makes, byte for byte
///   (nothing foreign), and is not already on the log (nothing doubled);
/// - `snapshotSaved`: a snapshot is written only when every output its process made is visible
///   (a snapshot never claims an output not delivered; a claim, a stored snapshot renumbered, is
///   exempt), and its output offsets do not pass the log's ends. A snapshot by the task's owner in good standing ranks above everything stored for
///   the task (a restore would pick it). A zombie (an expelled member, or one that no longer holds
///   the task) may still write one, but never in the epoch of, or above, the claim of the task's
///   current owner in good standing: restores use only the newest epoch (see
///   `SnapshotSelection`), so once the new owner has claimed, which it does before it folds or
///   produces anything, no zombie snapshot can be restored over the owner's. A zombie snapshot
///   that lands before that claim is restorable, and safe: nothing was produced after it;
/// - `committed`: a group commit never passes an input whose outputs may still be in flight (no
///   message handed out at or after the earliest iteration with an undelivered output);
/// - `checkOwners`: no partition has two owners in good standing;
/// - `finished`: at the end nothing is missing.
/// Without transactions a paused process (a zombie) can deliver, after its partitions moved, what
/// it had in flight; those and only those may appear twice.
struct InvariantCheckers {
    /// Trigger, conversion and withheld outputs of the clean replay.
    let expected: Set<[UInt8]>
    /// Where the bad inputs are: `topic|partition|offset`.
    let badInputs: Set<String>
    let deadLetterTopic: String
    private(set) var seen: Set<[UInt8]> = []
    private(set) var deadLettersSeen: Set<String> = []
    /// What zombies had in flight when paused, without transactions: allowed to land twice.
    var mayDouble: Set<[UInt8]> = []
    private(set) var violation: String?
    var counts = Counts()
    /// Each task's latest claim written by an owner in good standing: who, and its sequence.
    private(set) var claims: [Int32: (instance: Int, sequence: UInt64)] = [:]

    struct Counts {
        var checks = 0
        var snapshots = 0
        /// Snapshots written by zombies (all below their task's newest claim, or none would pass).
        var zombieSnapshots = 0
        /// Claims refused because another owner had claimed that epoch first.
        var refusedClaims = 0
        var doubledByZombies = 0
        var failedSnapshotWrites = 0
        var rejectedCommits = 0
    }

    init(expected: Set<[UInt8]>, badInputs: Set<String>, deadLetterTopic: String) {
        self.expected = expected
        self.badInputs = badInputs
        self.deadLetterTopic = deadLetterTopic
    }

    private mutating func fail(_ what: String) {
        if violation == nil { violation = what }
    }

    mutating func appended(_ value: [UInt8], to tp: TopicPartition, by instance: Int) {
        counts.checks += 1
        let shown = String(decoding: value.prefix(160), as: UTF8.self)
        if tp.topic == deadLetterTopic {
            guard let source = Self.source(ofDeadLetter: value) else { return fail("unreadable dead letter \(shown)") }
            guard badInputs.contains(source) else { return fail("dead letter for a good input \(source) from instance \(instance)") }
            if !deadLettersSeen.insert(source).inserted {
                if mayDouble.contains(value) { counts.doubledByZombies += 1; return }
                fail("dead letter of \(source) doubled, by instance \(instance)")
            }
            return
        }
        guard expected.contains(value) else { return fail("an output no clean replay makes, on \(tp), by instance \(instance): \(shown)") }
        if !seen.insert(value).inserted {
            if mayDouble.contains(value) { counts.doubledByZombies += 1; return }
            fail("output doubled on \(tp), by instance \(instance): \(shown)")
        }
    }

    mutating func snapshotSaved(_ s: TaskSnapshot, by context: InstanceContext, claim: Bool = false) {
        counts.checks += 1
        let cluster = context.cluster
        let number = SnapshotSequence(s.sequence)
        // A claim is exempt: it is a stored snapshot renumbered (its output offsets were checked
        // when that one was written), and it is written in the rebalance callback, while the
        // process's other tasks may have outputs in flight.
        if !claim, context.undelivered > 0 {
            return fail("instance \(context.id) wrote snapshot \(number) of task \(s.partition) with \(context.undelivered) outputs not yet delivered")
        }
        for o in s.outputOffsets where o.offset > cluster.end(TopicPartition(o.topic, o.partition)) {
            return fail("snapshot \(number) of task \(s.partition) claims \(o.topic)/\(o.partition) up to \(o.offset), past its end \(cluster.end(TopicPartition(o.topic, o.partition)))")
        }
        let member = cluster.members[context.id]
        let owner = member.map { !$0.expelled && ($0.owned.contains(s.partition) || $0.assigning.contains(s.partition)) } ?? false
        if owner {
            if let top = cluster.store.highest(s.partition), top >= s.sequence {
                return fail("instance \(context.id), owner of task \(s.partition), wrote snapshot \(number), which ranks below snapshot \(SnapshotSequence(top)) already stored: a restore would pick that one")
            }
            if claim { claims[s.partition] = (context.id, s.sequence) }
        } else {
            counts.zombieSnapshots += 1
            // Against the claim of the task's current owner: only an owner in good standing
            // produces outputs a zombie's snapshot could hide (a former owner that left gracefully
            // wrote its last snapshot and produced nothing after; one expelled is a zombie too).
            let current = cluster.members.first { id, m in
                id != context.id && !m.expelled && (m.owned.contains(s.partition) || m.assigning.contains(s.partition))
            }?.key
            if let c = claims[s.partition], c.instance == current, number.epoch >= SnapshotSequence(c.sequence).epoch {
                return fail("zombie instance \(context.id) wrote snapshot \(number) of task \(s.partition), which it does not own, in or above the epoch of its owner instance \(c.instance)'s claim \(SnapshotSequence(c.sequence)): a restore could pick it over the owner's")
            }
        }
        counts.snapshots += 1
    }

    mutating func committed(_ offsets: [TopicPartitionOffset], by context: InstanceContext) {
        counts.checks += 1
        let pending = context.earliestUndelivered
        for o in offsets where o.offset > 0 {
            guard let handed = context.consumer?.handedAt[o.topicPartition]?[o.offset - 1] else { continue }
            if let pending, handed >= pending {
                fail("instance \(context.id) committed \(o.topicPartition)@\(o.offset), whose last message came in iteration \(handed), while outputs of iteration \(pending) were not delivered")
            }
        }
    }

    /// After every assignment.
    mutating func checkOwners(_ members: [Int: SimulatedCluster.Member]) {
        counts.checks += 1
        var owner: [Int32: Int] = [:]
        for id in members.keys.sorted() where !members[id]!.expelled {
            for k in members[id]!.owned {
                if let other = owner[k] { return fail("partition \(k) owned by instances \(other) and \(id) at once") }
                owner[k] = id
            }
        }
    }

    /// At the end of a run that broke nothing on the way: nothing the replay makes is missing.
    mutating func finishedIfSound(failed: Bool) {
        guard !failed else { return }
        let missing = expected.subtracting(seen)
        if !missing.isEmpty {
            fail("\(missing.count) outputs of the clean replay never reached the log (first: \(String(decoding: missing.sorted { $0.lexicographicallyPrecedes($1) }.first!.prefix(160), as: UTF8.self)))")
        }
        let missingLetters = badInputs.subtracting(deadLettersSeen)
        if !missingLetters.isEmpty {
            fail("\(missingLetters.count) bad inputs never reached the dead letters (first: \(missingLetters.sorted().first!))")
        }
    }

    static func source(ofDeadLetter value: [UInt8]) -> String? {
        guard let v = try? JSONParser.parse(String(decoding: value, as: UTF8.self)), case .string(let t)? = v["source"]?["topic"],
              case .number(let p)? = v["source"]?["partition"], case .number(let o)? = v["source"]?["offset"]
        else { return nil }
        return "\(t)|\(Int(p))|\(Int(o))"
    }
}

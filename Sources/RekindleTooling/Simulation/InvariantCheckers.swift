import RekindleCore
import RekindleKafka
import RekindleRuntime

/// The invariants of spec section 5, each checked where the simulated world can see it break,
/// at the step it breaks, not only at the end:
/// - `appended`: every output that becomes visible is one a clean replay makes, byte for byte
///   (nothing foreign), and is not already on the log (nothing doubled);
/// - `snapshotSaved`: a snapshot is written only by the task's owner and only when every output
///   its process made is visible (a snapshot never claims an output not delivered), and its output
///   offsets do not pass the log's ends;
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

    struct Counts {
        var checks = 0
        var snapshots = 0
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

    mutating func snapshotSaved(_ s: TaskSnapshot, by context: InstanceContext) {
        counts.checks += 1
        let cluster = context.cluster
        guard let member = cluster.members[context.id], !member.expelled, member.owned.contains(s.partition) else {
            return fail("instance \(context.id) wrote snapshot \(s.sequence) of task \(s.partition), which it does not own")
        }
        if context.undelivered > 0 {
            return fail("instance \(context.id) wrote snapshot \(s.sequence) of task \(s.partition) with \(context.undelivered) outputs not yet delivered")
        }
        for o in s.outputOffsets where o.offset > cluster.end(TopicPartition(o.topic, o.partition)) {
            return fail("snapshot \(s.sequence) of task \(s.partition) claims \(o.topic)/\(o.partition) up to \(o.offset), past its end \(cluster.end(TopicPartition(o.topic, o.partition)))")
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

import RekindleCore
import RekindleKafka
import RekindleRuntime

/// The simulation's Kafka and disk: input partitions filled before the run, output partitions
/// that grow as producers deliver (or as transactions commit), a consumer group that moves
/// partitions between members (waiting for a live owner to revoke, not for a dead or expelled
/// one), committed group offsets, transactional ids with epochs that fence older producers, a
/// snapshot store, and one clock. Every change an instance makes goes through here, where the
/// invariant checkers see it. Single-threaded: the world steps one instance at a time.
final class SimulatedCluster {
    let partitions: Int
    let topics = TopicNames()
    var rng: SplitMix64
    let clock = SimulatedClock()
    var checkers: InvariantCheckers
    /// Input messages by topic partition, offsets 0...
    var inputs: [TopicPartition: [ConsumedMessage]] = [:]
    /// Visible output values by topic partition (delivered, or committed with their transaction).
    var outputs: [TopicPartition: [[UInt8]]] = [:]
    /// Group members by instance id; an expelled member missed its session timeout (a paused
    /// process): its partitions go to others, and it learns so at its next poll.
    var members: [Int: Member] = [:]
    var committed: [TopicPartition: Int64] = [:]
    /// Each task's transactional id: its current epoch, and the producer that holds it.
    var transactional: [Int32: (epoch: Int, producer: SimulatedProducer)] = [:]
    var store = SimulatedSnapshotStore()
    /// Crashes injected inside the loop (at a produce, flush, commit, transaction commit or
    /// snapshot write) are on; the calm end of a run turns them off.
    var faults = true

    struct Member {
        var owned: Set<Int32> = []
        var expelled = false
        /// Partitions being assigned to it: its rebalance callback (restore and claim) is running.
        var assigning: Set<Int32> = []
    }

    init(lines: [String], partitions: Int, rng: SplitMix64, checkers: InvariantCheckers) {
        self.partitions = partitions
        self.rng = rng
        self.checkers = checkers
        for name in topics.inputs {
            for p in 0..<partitions { inputs[TopicPartition(name, Int32(p))] = [] }
        }
        for name in [topics.triggers, topics.conversions, topics.deadLetters, topics.withheld] {
            for p in 0..<partitions { outputs[TopicPartition(name, Int32(p))] = [] }
        }
        for line in lines {
            let bytes = Array(line.utf8)
            let tp: TopicPartition
            var key: [UInt8]?
            switch bytes.withUnsafeBufferPointer({ EventDecoder.decode(bytes: $0) }) {
            case .success(let e):
                key = Array(e.customerId.utf8)
                tp = TopicPartition(topics.name(of: e.topic), Int32(Partitioner.murmur2.partition(e.customerId, count: partitions)))
            case .failure:
                // As `rekindle produce` sends a line that is not an event: to orders, unkeyed.
                tp = TopicPartition(topics.orders, Int32(self.rng.below(partitions)))
            }
            let offset = Int64(inputs[tp]!.count)
            inputs[tp]!.append(ConsumedMessage(topicPartition: tp, offset: offset, key: key, value: bytes, timestamp: nil))
        }
    }

    func end(_ tp: TopicPartition) -> Int64 { Int64(inputs[tp]?.count ?? outputs[tp]?.count ?? 0) }

    func outputPartition(_ topic: String, key: [UInt8]?) -> TopicPartition {
        let k = key.map { String(decoding: $0, as: UTF8.self) } ?? ""
        return TopicPartition(topic, Int32(Partitioner.murmur2.partition(k, count: partitions)))
    }

    /// Makes outputs visible, in order, and shows each to the checkers.
    func append(_ messages: [SimulatedProducer.Message], by instance: Int) {
        for m in messages {
            outputs[m.tp]!.append(m.value)
            checkers.appended(m.value, to: m.tp, by: instance)
        }
    }

    // MARK: The group

    /// Partition k's owner-to-be: the (k mod n)-th member by id among those not expelled, as a
    /// range assignor spreads them.
    func target(_ k: Int32) -> Int? {
        let ids = members.filter { !$0.value.expelled }.keys.sorted()
        return ids.isEmpty ? nil : ids[Int(k) % ids.count]
    }

    /// Whether a live, not expelled member holds partition k.
    func held(_ k: Int32) -> Bool { members.values.contains { !$0.expelled && $0.owned.contains(k) } }

    /// The group's answer to a commit: only a member in good standing may commit its partitions
    /// (Kafka answers a stale generation with ILLEGAL_GENERATION).
    func commit(_ offsets: [TopicPartitionOffset], by instance: Int, context: InstanceContext) throws(KafkaError) {
        guard let m = members[instance], !m.expelled,
              offsets.allSatisfy({ m.owned.contains($0.topicPartition.partition) })
        else {
            checkers.counts.rejectedCommits += 1
            throw KafkaError(code: 22, message: "commit: Broker: Specified group generation id is not valid")
        }
        checkers.committed(offsets, by: context)
        for o in offsets { committed[o.topicPartition] = o.offset }
    }

    // MARK: Transactions

    /// A new producer for task k's transactional id: the epoch moves on, and the previous
    /// holder's open transaction is aborted (initTransactions fences it).
    func fence(task k: Int32, with producer: SimulatedProducer) -> Int {
        let epoch = (transactional[k]?.epoch ?? 0) + 1
        transactional[k]?.producer.abortOpenTransaction()
        transactional[k] = (epoch, producer)
        return epoch
    }

    func isCurrent(task k: Int32, epoch: Int) -> Bool { transactional[k]?.epoch == epoch }
}

/// The one clock of a simulated world: every instance reads it; a poll that finds nothing waits
/// its timeout on it, and the world moves it between steps.
public final class SimulatedClock: LiveClock {
    let start = ContinuousClock.now
    var elapsed = Duration.zero
    public var now: ContinuousClock.Instant { start + elapsed }
    func advance(_ d: Duration) { elapsed += d }
}

/// Snapshots in memory, the last three per task, with the faults a disk has: a write lost to a
/// crash before its rename, a write that fails, and a stored snapshot bit-flipped or cut short.
/// Filed by sequence, as `DirectorySnapshotStore` names its files: a write of a stored sequence
/// replaces it (a claim is refused when anything at or above it is stored), the three highest are
/// kept, newest first.
struct SimulatedSnapshotStore {
    var byTask: [Int32: [(sequence: UInt64, bytes: [UInt8])]] = [:]  // highest sequence first

    struct Conflict: Error, CustomStringConvertible {
        var sequence: UInt64
        var description: String { "snapshot \(SnapshotSequence(sequence)) is stored: another owner claimed this epoch first" }
    }

    mutating func save(_ s: TaskSnapshot, exclusive: Bool = false) throws(Conflict) {
        var list = byTask[s.partition, default: []]
        if exclusive, let top = list.first?.sequence, top >= s.sequence { throw Conflict(sequence: top) }
        list.removeAll { $0.sequence == s.sequence }
        list.append((s.sequence, s.encoded()))
        list.sort { $0.sequence > $1.sequence }
        byTask[s.partition] = Array(list.prefix(3))
    }

    /// The highest sequence stored for the task.
    func highest(_ k: Int32) -> UInt64? { byTask[k]?.first?.sequence }

    /// Newest first, with the sequence each is filed under.
    func candidates(_ k: Int32) -> [SnapshotCandidate] {
        (byTask[k] ?? []).map { SnapshotCandidate(name: "task-\(k)/\(SnapshotSequence($0.sequence))", sequence: $0.sequence, bytes: $0.bytes) }
    }

    /// Damages the newest snapshot of a task; returns what it did.
    mutating func corrupt(_ rng: inout SplitMix64) -> String? {
        let tasks = byTask.keys.sorted().filter { !(byTask[$0]!.isEmpty) }
        guard !tasks.isEmpty else { return nil }
        let k = tasks[rng.below(tasks.count)]
        var bytes = byTask[k]![0].bytes
        let what: String
        if rng.below(2) == 0, !bytes.isEmpty {
            let at = rng.below(bytes.count)
            bytes[at] ^= UInt8(1 << rng.below(8))
            what = "bit flip in task \(k)'s newest snapshot at byte \(at)"
        } else {
            bytes = Array(bytes.prefix(rng.below(bytes.count)))
            what = "task \(k)'s newest snapshot cut to \(bytes.count) bytes"
        }
        byTask[k]![0].bytes = bytes
        return what
    }
}

import RekindleCore
import RekindleKafka
import RekindleRuntime

/// One simulated process: its id, whether it has died, the loop iteration it is in, and its
/// clients (which the world reaches through it to deliver, crash or pause).
final class InstanceContext {
    let id: Int
    unowned let cluster: SimulatedCluster
    /// Dead processes do nothing: every client call after the crash is a no-op or fails.
    private(set) var dead = false
    /// Counted by the world before each call of the loop's `iterate`.
    var iteration = 0
    var consumer: SimulatedConsumer?
    var producers: [SimulatedProducer] = []
    /// What the crash cut short, for the report.
    var crashedAt: String?
    /// The world's hook for a pause inside a client call (the process stops there a while).
    var pauseHere: ((String) -> Void)?

    init(id: Int, cluster: SimulatedCluster) {
        self.id = id
        self.cluster = cluster
    }

    /// With the world's faults on, kills the process here with probability `percent`/1000.
    func mayCrash(_ where_: String, permille: Int) -> Bool {
        guard !dead, cluster.faults, cluster.rng.below(1000) < permille else { return dead }
        die(at: where_)
        return true
    }

    func die(at where_: String) {
        guard !dead else { return }
        dead = true
        crashedAt = where_
    }

    /// The earliest loop iteration with an output of this process not yet visible on the log.
    var earliestUndelivered: Int? { producers.compactMap(\.earliestUndelivered).min() }
    var undelivered: Int { producers.reduce(0) { $0 + $1.undelivered } }

    static let deadError = KafkaError(code: -195, message: "the simulated process is dead")
}

/// A consumer-group member over the simulated log. Rebalances happen inside `poll`, as with
/// librdkafka: a lost assignment first, then revocations (the owner's callback runs before the
/// partitions leave it), then assignments of partitions no live member holds (their start
/// offsets chosen by the callback). Each iteration the world grants a budget of messages; the
/// consumer hands them out interleaving its partitions at random, each in order.
final class SimulatedConsumer: InputConsumer {
    let context: InstanceContext
    var cluster: SimulatedCluster { context.cluster }
    var willRevoke: (([TopicPartition]) -> Void)?
    var assignmentLost: (([TopicPartition]) -> Void)?
    var startOffsets: (([TopicPartition]) -> [TopicPartition: Int64])?
    var positions: [TopicPartition: Int64] = [:]
    var eofSent: Set<TopicPartition> = []
    /// Messages this iteration may still hand out.
    var budget = 0
    /// The iteration in which each message was handed out, for the commit checker.
    var handedAt: [TopicPartition: [Int64: Int]] = [:]
    private var subscribed = false

    init(context: InstanceContext) { self.context = context }

    func subscribe(_ topics: [String]) throws(KafkaError) {
        subscribed = true
        cluster.members[context.id] = SimulatedCluster.Member()
    }

    func inputs(of k: Int32) -> [TopicPartition] { cluster.topics.inputs.map { TopicPartition($0, k) } }

    func poll(timeoutMs: Int32) -> ConsumerEvent? {
        guard !context.dead, subscribed, let member = cluster.members[context.id] else { return nil }
        if member.expelled {
            // Back from a pause: the group moved on. Lost, then rejoin with nothing.
            let lost = member.owned.sorted().flatMap { inputs(of: $0) }
            cluster.members[context.id] = SimulatedCluster.Member()
            forget(lost)
            if !lost.isEmpty {
                (assignmentLost ?? willRevoke)?(lost)
                return .revoked(lost)
            }
        }
        let revoke = member.owned.filter { cluster.target($0) != context.id }.sorted()
        if !revoke.isEmpty {
            let tps = revoke.flatMap { inputs(of: $0) }
            willRevoke?(tps)
            guard !context.dead else { return nil }
            cluster.members[context.id]!.owned.subtract(revoke)
            forget(tps)
            return .revoked(tps)
        }
        let gain = (0..<Int32(cluster.partitions)).filter { cluster.target($0) == context.id && !cluster.held($0) }
        if !gain.isEmpty {
            let tps = gain.flatMap { inputs(of: $0) }
            // The callback restores and claims: the checkers count this member as the owner of
            // what it is being given (unless it is expelled meanwhile).
            cluster.members[context.id]!.assigning = Set(gain)
            let chosen = startOffsets?(tps) ?? [:]
            cluster.members[context.id]?.assigning = []
            guard !context.dead else { return nil }
            for tp in tps { positions[tp] = chosen[tp] ?? 0 }
            cluster.members[context.id]!.owned.formUnion(gain)
            cluster.checkers.checkOwners(cluster.members)
            return .assigned(tps)
        }
        let owned = member.owned.sorted().flatMap { inputs(of: $0) }
        if budget > 0 {
            let open = owned.filter { positions[$0]! < cluster.end($0) }
            if !open.isEmpty {
                let tp = open[cluster.rng.below(open.count)]
                let at = positions[tp]!
                positions[tp] = at + 1
                budget -= 1
                handedAt[tp, default: [:]][at] = context.iteration
                return .message(cluster.inputs[tp]![Int(at)])
            }
        }
        for tp in owned where positions[tp] == cluster.end(tp) && !eofSent.contains(tp) {
            eofSent.insert(tp)
            return .endOfPartition(tp, offset: cluster.end(tp))
        }
        cluster.clock.advance(.milliseconds(Int64(timeoutMs)))
        return nil
    }

    private func forget(_ tps: [TopicPartition]) {
        for tp in tps {
            positions[tp] = nil
            eofSent.remove(tp)
            handedAt[tp] = nil
        }
    }

    func commit(_ offsets: [TopicPartitionOffset], async: Bool) throws(KafkaError) {
        context.pauseHere?("a group commit")
        if context.mayCrash("group commit", permille: 10) { throw InstanceContext.deadError }
        try cluster.commit(offsets, by: context.id, context: context)
    }

    func cachedHighWatermark(_ tp: TopicPartition) -> Int64? { cluster.end(tp) }

    func queryWatermarks(_ tp: TopicPartition, timeoutMs: Int32) throws(KafkaError) -> (low: Int64, high: Int64) {
        if context.dead { throw InstanceContext.deadError }
        return (0, cluster.end(tp))
    }

    func partitionCounts(_ topics: [String], timeoutMs: Int32) throws(KafkaError) -> [String: Int?] {
        var counts: [String: Int?] = [:]
        for t in topics {
            counts[t] = (cluster.inputs.keys.contains { $0.topic == t } || cluster.outputs.keys.contains { $0.topic == t })
                ? cluster.partitions : nil
        }
        return counts
    }

    /// Leaving the group revokes everything first (librdkafka's close runs the callback).
    func close() {
        guard !context.dead, let member = cluster.members[context.id] else { return }
        if !member.expelled {
            let tps = member.owned.sorted().flatMap { inputs(of: $0) }
            if !tps.isEmpty { willRevoke?(tps) }
        }
        if !context.dead { cluster.members[context.id] = nil }
    }
}

/// A producer over the simulated log. Messages wait in flight until the world delivers a prefix
/// of each partition's (an idempotent producer keeps each partition's order); a poll or flush
/// that waits delivers too. With a transactional id, delivered messages wait in the open
/// transaction and become visible only when it commits; a newer producer of the id aborts it and
/// fences this one.
final class SimulatedProducer: OutputProducer {
    struct Message {
        var tp: TopicPartition
        var value: [UInt8]
        var ticket: Int
        var iteration: Int
    }

    let context: InstanceContext
    var cluster: SimulatedCluster { context.cluster }
    /// The task whose transactional id this producer holds, and its epoch.
    let task: Int32?
    private(set) var epoch = 0
    private(set) var inFlight: [Message] = []
    /// Delivered into the open transaction, not yet visible.
    private(set) var inTransaction: [Message] = []
    private var failure: KafkaError?

    init(context: InstanceContext, task: Int32?) {
        self.context = context
        self.task = task
        context.producers.append(self)
        if let task { epoch = cluster.fence(task: task, with: self) }
    }

    /// Even-numbered instances put their rounds of commits off until the loop waits for them (one
    /// of the interleavings librdkafka's threads allow); odd ones commit one after another at once.
    var transactionOverlap: TransactionOverlap { context.id % 2 == 0 ? .deferred : .none }

    var inFlightValues: [[UInt8]] { inFlight.map(\.value) }
    var fenced: Bool { task.map { !cluster.isCurrent(task: $0, epoch: epoch) } ?? false }
    var undelivered: Int { inFlight.count + inTransaction.count }
    var earliestUndelivered: Int? { (inFlight.map(\.iteration) + inTransaction.map(\.iteration)).min() }

    func produce(topic: String, key: [UInt8]?, value: [UInt8]?, partition: Int32?, ticket: Int) throws(KafkaError) {
        context.pauseHere?("a produce")
        if context.mayCrash("produce", permille: 2) { throw InstanceContext.deadError }
        if fenced { throw KafkaError(code: -144, message: "produce: Local: This instance has been fenced by a newer instance") }
        let tp = cluster.outputPartition(topic, key: key)
        if task == nil, cluster.members[context.id]?.expelled == true {
            // A zombie without transactions, not yet told: whatever it sends now may be doubled.
            cluster.checkers.mayDouble.insert(value ?? [])
        }
        inFlight.append(Message(tp: tp, value: value ?? [], ticket: ticket, iteration: context.iteration))
    }

    /// Delivers, per output partition, a random prefix of what is in flight (all of it: `all`).
    func deliver(all: Bool) {
        guard !context.dead, !inFlight.isEmpty else { return }
        var take: [TopicPartition: Int] = [:]
        for (tp, n) in Self.countsByPartition(inFlight) { take[tp] = all ? n : cluster.rng.below(n + 1) }
        var delivered: [Message] = [], kept: [Message] = []
        for m in inFlight {
            if take[m.tp]! > 0 {
                take[m.tp]! -= 1
                delivered.append(m)
            } else {
                kept.append(m)
            }
        }
        inFlight = kept
        if task == nil {
            cluster.append(delivered, by: context.id)
        } else {
            inTransaction.append(contentsOf: delivered)
        }
    }

    /// Messages per partition, in a fixed order (the seed's draws must not follow hash order).
    static func countsByPartition(_ messages: [Message]) -> [(TopicPartition, Int)] {
        var counts: [TopicPartition: Int] = [:]
        for m in messages { counts[m.tp, default: 0] += 1 }
        return counts.sorted { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }.map { ($0.key, $0.value) }
    }

    func poll(timeoutMs: Int32) {
        // A poll that waits sees some deliveries; one that does not, only those already made.
        if timeoutMs > 0 {
            cluster.clock.advance(.milliseconds(Int64(timeoutMs)))
            deliver(all: false)
            if !inFlight.isEmpty, let first = inFlight.first {
                // Something always moves during a wait, or a full pipeline would wait forever.
                let next = inFlight.firstIndex { $0.tp == first.tp }!
                let m = inFlight.remove(at: next)
                if task == nil { cluster.append([m], by: context.id) } else { inTransaction.append(m) }
            }
        }
    }

    var outstanding: Int { context.dead ? 0 : inFlight.count }

    func pending(ticket: Int) -> Int { context.dead ? 0 : inFlight.lazy.filter { $0.ticket == ticket }.count }

    func takeFailure() -> KafkaError? {
        defer { failure = nil }
        return failure
    }

    func flush(timeoutMs: Int32) throws(KafkaError) {
        if context.mayCrash("flush", permille: 5) { throw InstanceContext.deadError }
        deliver(all: true)
    }

    func beginTransaction() throws(KafkaError) {
        if context.dead { throw InstanceContext.deadError }
        if fenced { throw KafkaError(code: -144, message: "begin transaction: fenced by a newer instance") }
    }

    func commitTransaction(timeoutMs: Int32) throws(KafkaError) {
        context.pauseHere?("a transaction commit")
        if context.mayCrash("before a transaction commit", permille: 5) { throw InstanceContext.deadError }
        if fenced {
            abortOpenTransaction()
            throw KafkaError(code: -144, message: "commit transaction: Local: This instance has been fenced by a newer instance")
        }
        deliver(all: true)
        cluster.append(inTransaction, by: context.id)
        inTransaction = []
        // The commit took effect; the process may still die before it hears so.
        if context.mayCrash("after a transaction commit", permille: 5) { throw InstanceContext.deadError }
    }

    func abortTransaction(timeoutMs: Int32) throws(KafkaError) {
        if context.dead { throw InstanceContext.deadError }
        abortOpenTransaction()
    }

    /// The open transaction's messages never become visible.
    func abortOpenTransaction() {
        inFlight = []
        inTransaction = []
    }

    /// A crash: without transactions, a prefix of each partition's in-flight messages lands
    /// (those already sent when the process died); an open transaction is aborted.
    func crash() {
        if task == nil {
            var take: [TopicPartition: Int] = [:]
            for (tp, n) in Self.countsByPartition(inFlight) { take[tp] = cluster.rng.below(n + 1) }
            let landed = inFlight.filter { m in
                guard take[m.tp]! > 0 else { return false }
                take[m.tp]! -= 1
                return true
            }
            cluster.append(landed, by: context.id)
        }
        inFlight = []
        inTransaction = []
    }
}

/// Snapshot writes of one process: they may fail (a full disk), be lost to a crash before their
/// rename, or land; the checkers see each one that lands.
final class SimulatedSnapshotWriter: SnapshotStore, @unchecked Sendable {
    let context: InstanceContext
    init(context: InstanceContext) { self.context = context }

    func prepare() throws -> [String] { [] }

    func save(_ snapshot: TaskSnapshot) throws { try write(snapshot, claim: false) }

    /// Refused when the sequence is stored, as `DirectorySnapshotStore` links a claim into place.
    func claim(_ snapshot: TaskSnapshot) throws { try write(snapshot, claim: true) }

    func write(_ snapshot: TaskSnapshot, claim: Bool) throws {
        let cluster = context.cluster
        context.pauseHere?(claim ? "a claim write" : "a snapshot write")
        if context.mayCrash("snapshot write, before its rename", permille: 30) { throw InstanceContext.deadError }
        if cluster.faults, cluster.rng.below(100) < 3 {
            cluster.checkers.counts.failedSnapshotWrites += 1
            throw SimulatedDiskFull()
        }
        // Refused when anything at or above it is stored: not only its own name, which the
        // rival's later snapshots may already have pruned (as `DirectorySnapshotStore.claim`).
        if claim, let top = cluster.store.highest(snapshot.partition), top >= snapshot.sequence {
            cluster.checkers.counts.refusedClaims += 1
            throw SimulatedSnapshotStore.Conflict(sequence: snapshot.sequence)
        }
        cluster.checkers.snapshotSaved(snapshot, by: context, claim: claim)
        try cluster.store.save(snapshot, exclusive: claim)
    }

    func candidates(partition: Int32) throws -> [SnapshotCandidate] { context.cluster.store.candidates(partition) }
}

struct SimulatedDiskFull: Error, CustomStringConvertible {
    var description: String { "no space left on device (simulated)" }
}

/// `LiveRunner`'s transport in a simulated world.
struct SimulatedTransport: LiveTransport {
    let context: InstanceContext

    func makeConsumer(_ options: LiveOptions) throws -> any InputConsumer {
        let c = SimulatedConsumer(context: context)
        context.consumer = c
        return c
    }

    func makeProducer(_ options: LiveOptions) throws -> any OutputProducer { SimulatedProducer(context: context, task: nil) }

    func makeTransactionalProducer(_ options: LiveOptions, task: Int32) throws -> any OutputProducer {
        if context.dead { throw InstanceContext.deadError }
        return SimulatedProducer(context: context, task: task)
    }

    func readOutputs(_ starts: [(topic: String, kind: OutputLedger.OutputKind, partition: Int32, offset: Int64)],
                     options: LiveOptions) throws -> OutputLedger {
        var ledger = OutputLedger()
        for s in starts {
            for value in (context.cluster.outputs[TopicPartition(s.topic, s.partition)] ?? []).dropFirst(Int(s.offset)) {
                ledger.learn(value, kind: s.kind)
            }
        }
        return ledger
    }
}

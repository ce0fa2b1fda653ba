import DequeModule
import Foundation
import RekindleCore
import RekindleKafka

/// Outputs on their way to Kafka, batch by batch, so that the loop folds batch n+1 while batch n
/// is being delivered (issue 11). A batch is done when every message produced with its ticket is
/// reported delivered (and, with transactions, its tasks' transactions are committed); batches
/// complete in order, so the input positions of the newest done batch are the furthest the group
/// may be told, and a snapshot is taken only after `drain()`.
///
/// With transactions (one `transactional.id` per task, spec section 5), a task's transaction stays
/// open across batches and all open ones commit every `transactionInterval` (as Kafka Streams
/// commits every 100 ms under exactly-once), or less often when a round of commits is slow, not
/// once per batch and task. With librdkafka's producers the round runs on other threads while
/// the loop polls and folds its next batch; the next `send` waits for it before it begins the
/// tasks' next transactions.
///
/// In flight is bounded: past `maxBatches` batches or `maxMessages` messages, `send` waits for
/// deliveries, so a slow or stalled output topic slows the input instead of growing memory.
final class DeliveryPipeline {
    struct Message {
        var topic: String
        var key: [UInt8]?
        var value: [UInt8]
    }

    private struct Batch {
        var ticket: Int
        var positions: [TopicPartitionOffset]
        var firedAt: [Millis]
        var messages: Int
        /// In a transaction not yet committed.
        var uncommitted: Bool
    }

    let producer: any OutputProducer
    let maxBatches: Int
    let maxMessages: Int
    private let metrics: RekindleMetrics?
    /// Task k's transactional producer, made on first use; nil: no transactions.
    private let makeTransactional: ((Int32) throws -> any OutputProducer)?
    private var transactional: [Int32: any OutputProducer] = [:]
    private var openTransactions: Set<Int32> = []
    private let clock: any LiveClock
    private var lastTransactionCommit: ContinuousClock.Instant
    /// How long the last round of commits took: the next round waits at least nine times that,
    /// so that commits (one per task, each a broker round trip) take at most a tenth of the time.
    private var lastCommitRound = Duration.zero
    let transactionInterval: Duration
    private var inFlight = Deque<Batch>()
    /// A round of commits still running on other threads (or put off: `TransactionOverlap`): the
    /// loop folds its next batch meanwhile, and waits for the round only before it begins
    /// transactions again, drains or forgets a task.
    private var round: (producers: [any OutputProducer], running: Running, started: ContinuousClock.Instant)?
    private var nextTicket = 1
    /// Input positions all of whose outputs are delivered (those of the newest done batch).
    private(set) var delivered: [TopicPartitionOffset] = []
    /// When a batch with messages in it was last seen delivered: the end of a catch-up.
    private(set) var lastDelivery: ContinuousClock.Instant?

    init(producer: any OutputProducer, metrics: RekindleMetrics?, transactional: ((Int32) throws -> any OutputProducer)? = nil,
         clock: any LiveClock = SystemClock(), transactionInterval: Duration = .milliseconds(100), maxBatches: Int = 16,
         maxMessages: Int = 200_000) {
        self.producer = producer
        self.clock = clock
        lastTransactionCommit = clock.now
        self.metrics = metrics
        self.makeTransactional = transactional
        self.transactionInterval = transactionInterval
        self.maxBatches = maxBatches
        self.maxMessages = maxMessages
    }

    /// Batches not yet all delivered.
    var batchesInFlight: Int { inFlight.count }

    /// Produces one batch's messages, task by task in the given order, and remembers the input
    /// positions they complete. Throws the first delivery failure seen since the last call.
    func send(_ byTask: [(task: Int32, messages: [Message])], positions: [TopicPartitionOffset], firedAt: [Millis]) throws {
        let ticket = nextTicket
        nextTicket += 1
        var count = 0
        try finishCommitRound()
        try beginTransactions(byTask.filter { !$0.messages.isEmpty }.map(\.task))
        for (k, messages) in byTask where !messages.isEmpty {
            let p = try producer(for: k)
            for m in messages { try p.produce(topic: m.topic, key: m.key, value: m.value, partition: nil, ticket: ticket) }
            count += messages.count
        }
        inFlight.append(Batch(ticket: ticket, positions: positions, firedAt: firedAt, messages: count,
                              uncommitted: makeTransactional != nil && count > 0))
        if makeTransactional != nil {
            // Past the bound, the round is waited for: its batches must settle before more are sent.
            if inFlight.count > maxBatches {
                try commitTransactions()
            } else if lastTransactionCommit.duration(to: clock.now) >= max(transactionInterval, lastCommitRound * 9) {
                try commitTransactions(waiting: false)
            }
        }
        producer.poll(timeoutMs: 0)
        try settle()
        while inFlight.count > maxBatches || producer.outstanding > maxMessages {
            producer.poll(timeoutMs: 5)
            try settle()
        }
    }

    /// The producer for task k's outputs: the shared one, or the task's transactional one (its
    /// transaction opened by `beginTransactions`).
    private func producer(for k: Int32) throws -> any OutputProducer {
        guard makeTransactional != nil else { return producer }
        return try fence(k)!
    }

    /// Opens a transaction for each of `tasks` that has none (no-op without transactions): all at
    /// once where the producers allow it. Beginning a transaction waits for a round trip to the
    /// producer's thread (about a millisecond on two busy cores), and 64 tasks' begins one after
    /// another were most of a batch's delivery time in `rekindle bench live`.
    private func beginTransactions(_ tasks: [Int32]) throws {
        guard makeTransactional != nil else { return }
        let closed = tasks.filter { !openTransactions.contains($0) }
        let producers = try closed.map { try fence($0)! }
        let failures = Self.each(producers) { p throws(KafkaError) in try p.beginTransaction() }
        for (k, failed) in zip(closed, failures) where failed == nil { openTransactions.insert(k) }
        if let failure = failures.lazy.compactMap({ $0 }).first { throw failure }
    }

    /// `body` on each producer, returning each one's failure: on threads of their own at once
    /// when the producers run transactions concurrently (the calls wait, they do not compute),
    /// else one after another.
    private static func each(_ producers: [any OutputProducer], _ body: @escaping (any OutputProducer) throws(KafkaError) -> Void) -> [KafkaError?] {
        guard concurrently(producers) else {
            return producers.map { p in
                do throws(KafkaError) { try body(p); return nil } catch { return error }
            }
        }
        return start(producers, body).wait().failures
    }

    /// Calls running on threads of their own, one per producer; or put off until `wait`, then
    /// made one after another on the waiting thread.
    final class Running: @unchecked Sendable {
        // Each thread records only its own failure, under the lock (an array's elements are not
        // written from several threads without one); read after the group is waited for.
        private var failures: [KafkaError?]
        /// When the last call returned, by the process's clock (only librdkafka's producers run
        /// transactions concurrently, under the system clock; the simulator's never do).
        private var ended: ContinuousClock.Instant?
        private let lock = NSLock()
        private let group = DispatchGroup()
        /// Producers whose commits are put off until `wait`.
        private var deferred: [any OutputProducer] = []

        init(count: Int) { failures = Array(repeating: nil, count: count) }

        /// The producers' commits, made only when waited for.
        init(committingWhenWaited producers: [any OutputProducer]) {
            failures = Array(repeating: nil, count: producers.count)
            deferred = producers
        }

        fileprivate func run(_ i: Int, _ body: @escaping @Sendable () throws(KafkaError) -> Void) {
            DispatchQueue.global().async(group: group) {
                var failure: KafkaError?
                do throws(KafkaError) { try body() } catch { failure = error }
                let now = ContinuousClock.now
                self.lock.withLock {
                    self.failures[i] = failure
                    self.ended = max(self.ended ?? now, now)
                }
            }
        }

        /// Each call's failure, and when the last returned, once all have.
        func wait() -> (failures: [KafkaError?], ended: ContinuousClock.Instant?) {
            for (i, p) in deferred.enumerated() {
                do throws(KafkaError) { try p.commitTransaction(timeoutMs: 30_000) } catch { failures[i] = error }
            }
            deferred = []
            group.wait()
            return lock.withLock { (failures, ended) }
        }
    }

    /// `body` on each producer, each on a thread of its own, without waiting.
    private static func start(_ producers: [any OutputProducer], _ body: @escaping (any OutputProducer) throws(KafkaError) -> Void) -> Running {
        let running = Running(count: producers.count)
        let shared = Box((producers, body))
        for i in producers.indices {
            running.run(i) { () throws(KafkaError) in
                let (producers, body) = shared.value
                try body(producers[i])
            }
        }
        return running
    }

    /// The producers' commits as a round that runs on while the loop goes on: on threads of their
    /// own (`.threads`), or put off until waited for (`.deferred`, only when the loop will not wait
    /// at once). Nil: they commit one after another, here.
    private static func commitRound(_ producers: [any OutputProducer], waiting: Bool) -> Running? {
        if concurrently(producers) { return start(producers) { p throws(KafkaError) in try p.commitTransaction(timeoutMs: 30_000) } }
        if !waiting, !producers.isEmpty, producers.allSatisfy({ $0.transactionOverlap == .deferred }) {
            return Running(committingWhenWaited: producers)
        }
        return nil
    }

    /// Whether `producers`' transactions run at once (more than one, and all allow it).
    private static func concurrently(_ producers: [any OutputProducer]) -> Bool {
        producers.count > 1 && producers.allSatisfy { $0.transactionOverlap == .threads }
    }

    /// Makes task k's transactional producer now, if it has none yet (no-op without transactions):
    /// on assignment, before the task reads its output topics to recover, so that a zombie owner's
    /// open transaction is aborted first and cannot commit outputs the recovery read did not see.
    @discardableResult
    func fence(_ k: Int32) throws -> (any OutputProducer)? {
        guard let make = makeTransactional else { return nil }
        if let existing = transactional[k] { return existing }
        let p = try make(k)
        transactional[k] = p
        return p
    }

    /// Forgets task k once it has left this instance. Its input positions go from the batches in
    /// flight and from `delivered`: if the task comes back, it starts again from its snapshot, and
    /// a position of its earlier stay here must not be committed for it. Its transactional
    /// producer goes too: the `transactional.id` moves with the task, and a later owner's producer
    /// fences this one. A transaction still open (a lost assignment) is aborted; nothing of it
    /// reaches the log.
    func forget(_ k: Int32) {
        // Its transaction may be committing: that ends first (a failure is the loop's to see at
        // its next send or drain, so it is kept; a commit that failed leaves nothing to abort).
        if let failure = waitForCommitRound() { pendingFailure = pendingFailure ?? failure }
        delivered.removeAll { $0.topicPartition.partition == k }
        for i in inFlight.indices { inFlight[i].positions.removeAll { $0.topicPartition.partition == k } }
        guard let p = transactional.removeValue(forKey: k) else { return }
        if openTransactions.remove(k) != nil { try? p.abortTransaction(timeoutMs: 30_000) }
    }

    /// Commits every open transaction (each flushes its producer); on a failure aborts the rest
    /// and throws: nothing of theirs is committed to the group or claimed by a snapshot.
    /// Where the producers allow it (`TransactionOverlap.threads`, or `.deferred`) and `waiting` is
    /// false, the round runs on while the loop goes on (it folds its next batch meanwhile); its
    /// batches count as committed, and its failure is thrown, when `finishCommitRound` sees it end.
    func commitTransactions(waiting: Bool = true) throws {
        try finishCommitRound()
        let started = clock.now
        // With none open, batches may still be marked uncommitted: their only transaction was
        // that of a task since forgotten (a lost assignment aborts it, and `forget` took its
        // positions out of them); nothing of theirs is left to wait for.
        // All at once where the producers allow it (see `beginTransactions`); one after another,
        // each failure stops the rest, which are aborted.
        let open = openTransactions.sorted()
        let producers = open.map { transactional[$0]! }
        if let running = Self.commitRound(producers, waiting: waiting) {
            openTransactions = []
            round = (producers, running, started)
            if waiting { try finishCommitRound() }
            return
        }
        defer { endCommitRound(started: started) }
        for (k, p) in zip(open, producers) {
            do {
                try p.commitTransaction(timeoutMs: 30_000)
                openTransactions.remove(k)
            } catch {
                for other in openTransactions { try? transactional[other]!.abortTransaction(timeoutMs: 30_000) }
                openTransactions = []
                throw error
            }
        }
        for i in inFlight.indices { inFlight[i].uncommitted = false }
    }

    /// A failure of a round that ended while a task was being forgotten, for the next send or drain.
    private var pendingFailure: KafkaError?

    /// Waits for the round of commits running on other threads, if any: its batches count as
    /// committed when every commit succeeded; otherwise the failed transactions are aborted (the
    /// others stay committed) and the first failure is returned, and nothing of the round's
    /// batches is claimed.
    private func waitForCommitRound() -> KafkaError? {
        guard let (producers, running, started) = round else { return nil }
        round = nil
        let (failures, ended) = running.wait()
        endCommitRound(started: started, ended: ended)
        guard let failure = failures.lazy.compactMap({ $0 }).first else {
            for i in inFlight.indices { inFlight[i].uncommitted = false }
            return nil
        }
        for (p, failed) in zip(producers, failures) where failed != nil { try? p.abortTransaction(timeoutMs: 30_000) }
        return failure
    }

    /// `waitForCommitRound`, throwing its failure (or one kept from a forgotten task's round).
    func finishCommitRound() throws {
        if let failure = pendingFailure { throw failure }
        if let failure = waitForCommitRound() {
            pendingFailure = failure
            throw failure
        }
    }

    /// A round of commits ended at `ended` (default: now): the next one is timed from then.
    private func endCommitRound(started: ContinuousClock.Instant, ended: ContinuousClock.Instant? = nil) {
        lastTransactionCommit = ended ?? clock.now
        lastCommitRound = started.duration(to: lastTransactionCommit)
    }

    /// Takes the done batches off the front. Throws a delivery failure: the loop stops, and a
    /// restart recovers from the last snapshot (nothing past a failed batch is committed).
    func settle() throws {
        if let failure = producer.takeFailure() { throw failure }
        for p in transactional.values { if let failure = p.takeFailure() { throw failure } }
        var completedWithOutputs = false
        while let first = inFlight.first, !first.uncommitted, pending(first.ticket) == 0 {
            inFlight.removeFirst()
            delivered = first.positions
            if let metrics, !first.firedAt.isEmpty {
                let deliveredMs = Millis(Date().timeIntervalSince1970 * 1000)
                for f in first.firedAt { metrics.triggerDelivered(delaySeconds: Double(deliveredMs - f) / 1000) }
            }
            completedWithOutputs = completedWithOutputs || first.messages > 0
        }
        if completedWithOutputs { lastDelivery = clock.now }
    }

    private func pending(_ ticket: Int) -> Int {
        transactional.isEmpty ? producer.pending(ticket: ticket) : transactional.values.reduce(0) { $0 + $1.pending(ticket: ticket) }
    }

    /// Waits until everything produced is delivered: before a snapshot, a revocation or the end.
    func drain() throws {
        try commitTransactions()
        try producer.flush(timeoutMs: 30_000)
        for p in transactional.values { try p.flush(timeoutMs: 30_000) }
        try settle()
        if !inFlight.isEmpty {
            throw LiveError("\(inFlight.count) output batches still undelivered after a flush (the delivery reports were not all counted)")
        }
    }
}

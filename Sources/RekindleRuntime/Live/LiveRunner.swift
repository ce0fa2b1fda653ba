import Foundation
import Logging
import RekindleCore
import RekindleKafka
import Synchronization

/// What `rekindle run` needs to know.
public struct LiveOptions: Sendable {
    /// librdkafka properties for every client (bootstrap.servers, SASL, TLS, tuning), as-is.
    public var kafka: [String: String]
    public var groupId = "rekindle"
    public var topics = TopicNames()
    public var rules = RuleSet.defaults
    public var allowedLatenessMs: Millis = 0
    /// An event whose `occurred_at` is further ahead of its message's timestamp is a bad input.
    public var maxFutureSkewMs = EventDecoder.defaultMaxFutureSkewMs
    /// Exit once every assigned partition has been caught up this long, all delivered and committed.
    public var stopWhenIdleSeconds: Double?
    public var maxBatch = 10_000
    /// While behind its partitions' ends, the run logs how far and how fast this often.
    public var progressIntervalSeconds: Double = 10
    /// Where task snapshots go; nil: no snapshots, every assigned partition is re-folded from its
    /// beginning and outputs already produced are recognised by reading the output topics.
    public var snapshotStore: (any SnapshotStore)?
    public var snapshotIntervalSeconds: Double = 30
    /// Outputs in Kafka transactions, one `transactional.id` per task (`<group>-task-<k>`), so a
    /// moved or restarted task fences its zombie. `auto`: on, unless the cluster is `rekindle broker`
    /// (its mock implements none of their effects).
    public var transactions = TransactionMode.auto
    public var snapshotEveryEvents = 500_000
    /// This many failed snapshot writes in a row end the run (a success resets the count).
    public var snapshotFailureLimit = 3

    public init(bootstrap: String) { kafka = ["bootstrap.servers": bootstrap] }

    /// Settings that make a run fast against the embedded broker and harmless against a real one;
    /// the user's `kafka:` map wins.
    var consumerProperties: [String: String] {
        var p = ["session.timeout.ms": "6000", "fetch.wait.max.ms": "10", "group.id": groupId]
        p.merge(kafka) { _, user in user }
        return p
    }
}

public enum TransactionMode: String, Sendable, CaseIterable {
    case auto, on, off
}

public struct LiveError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}

public struct LiveSummary: Sendable {
    public var watermarks: [(partition: Int32, watermark: Millis)] = []
    /// When the first partitions were assigned, and when every task was last seen caught up with
    /// everything delivered: the processing time, without the group join or the idle wait.
    public var firstAssigned: ContinuousClock.Instant?
    public var lastBusy: ContinuousClock.Instant?
    public var eventsIn = 0
    public var badInputs = 0
    public var report: BacktestReport
}

/// The live runner: one `CampaignTask` per input partition number, fed by a consumer group,
/// writing triggers, conversions and dead letters.
///
/// Exactly-once output (spec section 5): a task assigned to this instance restores its newest
/// good snapshot (or starts empty), reads the output partitions from the snapshot's output offsets
/// (or their beginning) to their end to learn what already made it, re-folds from the snapshot's
/// input offsets, and produces only what is missing. Snapshots are taken only when every output of
/// the events folded so far is delivered; input offsets committed to the group are for monitoring.
public final class LiveRunner: @unchecked Sendable {
    public let options: LiveOptions
    let metrics: RekindleMetrics?
    let logger: Logger
    /// Kafka for `rekindle run`; a simulated log for `rekindle simulate`, which drives this loop.
    let transport: any LiveTransport
    let clock: any LiveClock

    private let state: Mutex<LiveEngine>
    private let stopRequested = Atomic<Bool>(false)
    /// Snapshot writes failed in a row, and the last failure.
    private let snapshotFailures = Mutex<(count: Int, last: String)>((0, ""))
    /// When each task's last snapshot was written here, or when it was first seen here: its
    /// snapshot age counts from then.
    private let snapshotTimes = Mutex<[Int32: ContinuousClock.Instant]>([:])
    /// The running loop's clients and bookkeeping, from `start()` to `finish()`.
    private var loop: Loop?

    /// What one run of the loop holds between its iterations.
    private final class Loop {
        let consumer: any InputConsumer
        let producer: any OutputProducer
        /// Outputs in flight (a revocation, called back from the consumer's poll, drains it).
        let pipeline: DeliveryPipeline
        var lastSnapshot: ContinuousClock.Instant
        var lastGauges: ContinuousClock.Instant
        var progress: (at: ContinuousClock.Instant, folded: Int)
        var summary: LiveSummary
        /// Counting outputs keeps every customer each rule reached: only for a run that ends.
        var counter: BacktestReport.Counter
        let keepForReport: Bool
        var idleSince: ContinuousClock.Instant?

        init(consumer: any InputConsumer, producer: any OutputProducer, pipeline: DeliveryPipeline, rules: RuleSet,
             keepForReport: Bool, now: ContinuousClock.Instant) {
            self.consumer = consumer
            self.producer = producer
            self.pipeline = pipeline
            lastSnapshot = now
            lastGauges = now
            progress = (now, 0)
            summary = LiveSummary(report: BacktestReport(rules: rules))
            counter = BacktestReport.Counter(rules: rules)
            self.keepForReport = keepForReport
        }
    }

    public init(options: LiveOptions, metrics: RekindleMetrics? = nil, logger: Logger = Logger(label: "rekindle.run"),
                transport: any LiveTransport = KafkaTransport(), clock: any LiveClock = SystemClock()) {
        self.options = options
        self.metrics = metrics
        self.logger = logger
        self.transport = transport
        self.clock = clock
        var engine = LiveEngine(
            rules: options.rules, topics: options.topics, allowedLatenessMs: options.allowedLatenessMs, metrics: metrics,
            logger: logger, groupId: options.groupId)
        engine.maxFutureSkewMs = options.maxFutureSkewMs
        state = Mutex(engine)
    }

    /// Swaps the rule set (SIGHUP): it takes effect from each task's current time, and the new
    /// `rules_version` goes into triggers and snapshots from now on.
    public func reload(rules: RuleSet) throws {
        try state.withLock { s throws(SnapshotError) in try s.reload(rules) }
        logger.info("rules reloaded: \(rules.version) (\(rules.hash))")
    }

    /// Asks `run()` to finish its current batch, deliver, commit and return.
    public func stop() { stopRequested.store(true, ordering: .relaxed) }

    /// Ready once tasks are assigned and each has caught up with its partitions at least once.
    public func health() -> HealthReport {
        state.withLock { s in
            if s.tasks.isEmpty { return HealthReport(ready: false, detail: "waiting for partitions") }
            let behind = s.tasks.keys.filter { !s.caughtUp.contains($0) }.sorted()
            if behind.isEmpty { return HealthReport(ready: true, detail: "\(s.tasks.count) tasks consuming") }
            return HealthReport(ready: false, detail: "restoring tasks \(behind.map(String.init).joined(separator: ","))")
        }
    }

    /// The customer's state from whichever task owns them, as JSON.
    public func customer(_ id: String) -> [UInt8]? {
        state.withLock { s in
            for k in s.tasks.keys.sorted() { if let json = s.tasks[k]!.task.describe(customer: id) { return json } }
            return nil
        }
    }

    /// Runs the loop until `stop()` or, with `stopWhenIdleSeconds`, until idle that long.
    public func run() throws -> LiveSummary {
        do {
            try start()
            while !stopRequested.load(ordering: .relaxed) {
                guard try iterate() else { break }
            }
            return try finish()
        } catch {
            abandon()
            throw error
        }
    }

    /// After a failure: leaves the group at once, delivering, committing and snapshotting nothing
    /// more (the next owner recovers from the last snapshot).
    public func abandon() {
        let running = loop
        loop = nil
        running?.consumer.close()
    }

    /// Prepares the snapshot store, makes the clients, checks the topics and joins the group.
    public func start() throws {
        // Before anything is consumed: a store that cannot take snapshots ends the run here.
        if let store = options.snapshotStore {
            for leftover in try store.prepare() { logger.notice("removed \(leftover), left by an interrupted snapshot write") }
        }
        let producer = try transport.makeProducer(options)
        let consumer = try transport.makeConsumer(options)
        try checkTopics(consumer)
        let useTransactions: Bool
        switch options.transactions {
        case .on: useTransactions = true
        case .off: useTransactions = false
        case .auto:
            let marker = try consumer.partitionCounts([TopicNames.embeddedBrokerMarker], timeoutMs: 10_000)[TopicNames.embeddedBrokerMarker]
            useTransactions = marker == .some(nil)
        }
        logger.info("outputs in transactions: \(useTransactions ? "yes" : "no")")
        let (transport, options) = (self.transport, self.options)
        let pipeline = DeliveryPipeline(producer: producer, metrics: metrics, transactional: useTransactions ? { k in
            try transport.makeTransactionalProducer(options, task: k)
        } : nil, clock: clock)
        let outputs = options.topics
        let counts = try consumer.partitionCounts(
            [outputs.triggers, outputs.conversions, outputs.deadLetters, outputs.withheld], timeoutMs: 10_000)
        state.withLock { s in
            // The withheld topic is read back only where it exists (a run without experiments needs none).
            let kinds: [(String, OutputLedger.OutputKind)] = [
                (outputs.triggers, .trigger), (outputs.conversions, .conversion), (outputs.deadLetters, .deadLetter),
                (outputs.withheld, .withheld),
            ]
            s.outputPartitions = kinds.map { (topic: $0.0, kind: $0.1, count: (counts[$0.0] ?? nil) ?? 0) }
        }
        loop = Loop(consumer: consumer, producer: producer, pipeline: pipeline, rules: options.rules,
                    keepForReport: options.stopWhenIdleSeconds != nil, now: clock.now)
        // Weak: the consumer lives in `loop`, and closing it (also from the runner's deinit)
        // calls back.
        consumer.startOffsets = { [weak self] tps in self?.prepareRestore(tps) ?? [:] }
        consumer.willRevoke = { [weak self] tps in self?.release(tps) }
        consumer.assignmentLost = { [weak self] tps in self?.lose(tps) }
        try consumer.subscribe(options.topics.inputs)
    }

    /// One round: poll a batch, fold it on every core, hand its outputs to the pipeline (not
    /// waited for: the next round folds while they are delivered), commit what is delivered, and
    /// snapshot when due. Returns false once idle for `stopWhenIdleSeconds`.
    public func iterate() throws -> Bool {
        guard let loop else { throw LiveError("the loop was not started") }
        let (consumer, pipeline) = (loop.consumer, loop.pipeline)
        var events: [ConsumerEvent] = []
        if let first = consumer.poll(timeoutMs: 50) {
            events.append(first)
            while events.count < options.maxBatch, let e = consumer.poll(timeoutMs: 0) { events.append(e) }
        }
        events = Self.withoutRevokedAssignments(events)
        retryClaims()
        var out: [LiveEngine.TaskOutput] = []
        var dead: [LiveEngine.DeadLetterOut] = []
        let (transport, options) = (self.transport, self.options)
        let (idle, eventsIn) = state.withLock { s in
            s.step(events, out: &out, dead: &dead) { try transport.readOutputs($0, options: options) }
        }
        if loop.summary.firstAssigned == nil, events.contains(where: { if case .assigned = $0 { return true } else { return false } }) {
            loop.summary.firstAssigned = clock.now
        }
        loop.summary.eventsIn += eventsIn
        loop.summary.badInputs += dead.count

        // Each task's messages (a dead letter's task is its source partition), made where it folded.
        var byTask: [Int32: [DeliveryPipeline.Message]] = [:]
        // The triggers' firing times, for the delivery-delay histogram: only with metrics.
        var firedAt: [Millis] = []
        for batch in out {
            if byTask[batch.task] == nil { byTask[batch.task] = batch.messages } else { byTask[batch.task]!.append(contentsOf: batch.messages) }
            if let metrics {
                for o in batch.outputs {
                    switch o {
                    case .trigger(let t):
                        metrics.trigger(rule: t.ruleId)
                        firedAt.append(t.firedAt)
                    case .conversion(let c): metrics.conversion(rule: c.ruleId)
                    case .withheld(let t): metrics.withheld(rule: t.ruleId, reason: t.withheld?.rawValue ?? "")
                    }
                }
            }
            if loop.keepForReport { for o in batch.outputs { loop.counter.count(o) } }
        }
        for (letter, key, kind) in dead {
            guard case .topic(let name, let partition, _) = letter.source else { continue }
            byTask[partition, default: []].append(.init(topic: options.topics.deadLetters, key: key, value: letter.json))
            metrics?.badInput(topic: name, reason: kind.rawValue)
        }
        let positions = state.withLock { $0.positions() }
        try pipeline.send(byTask.keys.sorted().map { ($0, byTask[$0]!) }, positions: positions, firedAt: firedAt)
        commit(async: true)
        let now = clock.now
        if loop.lastGauges.duration(to: now) >= .milliseconds(250) {
            updateGauges(consumer)
            loop.lastGauges = now
        }
        if !idle || !out.isEmpty || !dead.isEmpty { loop.summary.lastBusy = now }
        if loop.progress.at.duration(to: now) >= .milliseconds(Int64(options.progressIntervalSeconds * 1000)) {
            logCatchUp(consumer, folded: loop.summary.eventsIn - loop.progress.folded, in: loop.progress.at.duration(to: now))
            loop.progress = (now, loop.summary.eventsIn)
        }
        if options.snapshotStore != nil {
            let due = state.withLock { $0.eventsSinceSnapshot >= options.snapshotEveryEvents }
                || loop.lastSnapshot.duration(to: now) >= .milliseconds(Int64(options.snapshotIntervalSeconds * 1000))
            if due {
                try pipeline.drain()
                try takeSnapshots(of: nil)
                loop.lastSnapshot = clock.now
            }
        }
        try checkSnapshotFailures()

        if let seconds = options.stopWhenIdleSeconds, idle, pipeline.batchesInFlight == 0, loop.producer.outstanding == 0 {
            if let since = loop.idleSince {
                if since.duration(to: clock.now) >= .milliseconds(Int64(seconds * 1000)) { return false }
            } else {
                loop.idleSince = clock.now
            }
        } else {
            loop.idleSince = nil
        }
        return true
    }

    /// Delivers everything, commits, leaves the group (revoking, so every task is snapshotted)
    /// and returns what the run did.
    public func finish() throws -> LiveSummary {
        guard let loop else { throw LiveError("the loop was not started") }
        try loop.pipeline.drain()
        if let delivered = loop.pipeline.lastDelivery { loop.summary.lastBusy = max(loop.summary.lastBusy ?? delivered, delivered) }
        commit()
        loop.counter.countEvents(folded: loop.summary.eventsIn)
        loop.counter.countBadInputs(loop.summary.badInputs)
        var summary = loop.summary
        // Read the tasks before leaving the group: revocation drops them.
        state.withLock { s in
            summary.watermarks = s.watermarks
            let tasks = s.tasks.keys.sorted().map { s.tasks[$0]!.task }
            summary.report = loop.counter.report(
                tasks: tasks.map(\.stats), watermark: summary.watermarks.map(\.watermark).max() ?? .min, lift: tasks.map(\.lift))
        }
        loop.consumer.close()
        self.loop = nil
        try checkSnapshotFailures()
        return summary
    }

    /// Task `k` is partition `k` of every input topic: they must exist and have one partition count
    /// (as Kafka Streams insists on co-partitioning).
    /// The inputs must exist with one partition count (task k reads partition k of each), and the
    /// outputs must exist: a topic a producer auto-creates gets the broker's default partition
    /// count, silently, and `rekindle broker` would give it 4 whatever the inputs have.
    private func checkTopics(_ consumer: any InputConsumer) throws {
        // (The snapshot topic is checked by its store's `prepare`.)
        // The withheld topic when the rules withhold (experiments, caps): a run without them needs
        // none, as before they existed (a consent revocation alone still withholds, to that topic).
        let withholds = options.rules.experiments != nil || options.rules.policy != nil
        let outputs = [options.topics.triggers, options.topics.conversions, options.topics.deadLetters]
            + (withholds ? [options.topics.withheld] : [])
        let counts = try consumer.partitionCounts(options.topics.inputs + outputs, timeoutMs: 10_000)
        let cluster = options.kafka["bootstrap.servers"] ?? "the cluster"
        let missing = options.topics.inputs.filter { counts[$0] == .some(nil) }
        if !missing.isEmpty {
            throw LiveError("input topic\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", ")) not found on \(cluster) (create them with one partition count; see deploy/README.md)")
        }
        let distinct = Set(options.topics.inputs.compactMap { counts[$0] ?? nil })
        if distinct.count > 1 {
            let shown = options.topics.inputs.map { "\($0): \((counts[$0] ?? nil) ?? 0)" }.joined(separator: ", ")
            throw LiveError("input topics are not co-partitioned (\(shown)): task k reads partition k of each, so they need one partition count")
        }
        let absent = outputs.filter { (counts[$0] ?? nil) == nil }
        if !absent.isEmpty {
            let inputs = distinct.first.map { " with \($0) partitions, as the inputs have" } ?? ""
            throw LiveError("output topic\(absent.count > 1 ? "s" : "") \(absent.joined(separator: ", ")) not found on \(cluster): create \(absent.count > 1 ? "them" : "it")\(inputs) (on `rekindle broker`: --topic NAME); Rekindle does not let a producer auto-create it with the broker's default partition count")
        }
        for topic in outputs {
            if let count = counts[topic] ?? nil, count < 1 {
                throw LiveError("output topic \(topic) has \(count) partitions: outputs are keyed by customer_id, which needs at least one")
            }
        }
    }

    /// The batch with each assignment that a later revocation in it took back removed. The
    /// consumer's callbacks dropped those tasks when they were revoked (or lost), before the
    /// engine applied the earlier assignment: applied, it would re-create them as zombies here,
    /// folding and retrying their claims over their new owner's, or, when the partition was
    /// assigned again in the same batch, use up the restore and claim made for that assignment.
    static func withoutRevokedAssignments(_ events: [ConsumerEvent]) -> [ConsumerEvent] {
        var revokedLater = Set<TopicPartition>()
        var kept: [ConsumerEvent] = []
        for e in events.reversed() {
            switch e {
            case .revoked(let tps):
                revokedLater.formUnion(tps)
                kept.append(e)
            case .assigned(let tps):
                let left = tps.filter { !revokedLater.contains($0) }
                revokedLater.subtract(tps)  // an earlier assignment is not taken back by this revocation
                if !left.isEmpty { kept.append(.assigned(left)) }
            default:
                kept.append(e)
            }
        }
        return kept.reversed()
    }

    /// Commits, for every input partition, the offset after the last message whose outputs
    /// have been delivered. Failures (e.g. during a rebalance) are logged and retried later.
    private func commit(async: Bool = false) {
        guard let loop else { return }
        let offsets = state.withLock { $0.uncommitted(loop.pipeline.delivered) }
        guard !offsets.isEmpty else { return }
        do {
            try loop.consumer.commit(offsets, async: async)
            state.withLock { $0.markCommitted(offsets) }
        } catch {
            logger.warning("commit failed, will retry: \(error)")
        }
    }

    /// On revocation: commit what was delivered, snapshot, then drop the tasks of those partitions.
    private func release(_ tps: [TopicPartition]) {
        guard let loop else { return }
        do {
            try loop.pipeline.drain()
        } catch {
            // Nothing past the last delivered batch is committed or snapshotted; the next owner
            // recovers from the last snapshot and produces what is missing.
            logger.error("delivering outputs on revocation failed: \(error)")
            drop(tps)
            return
        }
        commit()
        if options.snapshotStore != nil {
            do {
                try takeSnapshots(of: Set(tps.map(\.partition)))
            } catch {
                logger.error("snapshot on revocation failed: \(error)")
            }
        }
        drop(tps)
    }

    /// The group gave these partitions to another member while this one was not polling (a
    /// pause past the session timeout). Their new owner restored from the last snapshot and may
    /// have moved on: committing or snapshotting them here would set it back, so their tasks are
    /// dropped as they are. Outputs still in flight for them may land twice without transactions;
    /// with them, the new owner's producer fenced this one on assignment, and they are aborted.
    private func lose(_ tps: [TopicPartition]) {
        logger.warning("assignment lost: \(tps.map(\.description).sorted().joined(separator: " ")) went to another member while this one was not polling; their tasks are dropped without commit or snapshot")
        drop(tps)
    }

    /// Drops the tasks of these partitions, and the transactional producers of tasks now gone.
    private func drop(_ tps: [TopicPartition]) {
        let gone = state.withLock { s in
            s.release(tps)
            let gone = Set(tps.map(\.partition)).filter { s.tasks[$0] == nil }
            // Also a claim pending for an assignment not applied yet (see withoutRevokedAssignments).
            for k in gone { s.unclaimed[k] = nil }
            return gone
        }
        for k in gone.sorted() { loop?.pipeline.forget(k) }
    }

    /// Runs in the rebalance callback, before the assignment takes effect: restores each newly
    /// assigned task from its newest good snapshot and returns where its inputs resume.
    private func prepareRestore(_ tps: [TopicPartition]) -> [TopicPartition: Int64] {
        let partitions = Set(tps.filter { options.topics.input(named: $0.topic) != nil }.map(\.partition))
        let held = state.withLock { s in Set(s.tasks.keys) }
        for k in partitions.subtracting(held).sorted() {
            // Fence before the recovery read (as Kafka Streams initialises a task's producer
            // before restoring it): a zombie owner can then commit nothing this task won't see.
            do { try loop?.pipeline.fence(k) } catch {
                logger.error("task \(k): cannot make its transactional producer yet (\(error)); its first output retries")
            }
        }
        guard let store = options.snapshotStore else { return [:] }
        var offsets: [TopicPartition: Int64] = [:]
        var claims: [(Int32, TaskSnapshot)] = []
        for k in partitions.sorted() {
            let candidates: [SnapshotCandidate]
            do { candidates = try store.candidates(partition: k) } catch {
                // Its epoch is unknown, so it cannot claim yet: it holds, and the retry lists again.
                logger.error("cannot list snapshots of task \(k): \(error); it re-folds its partitions from the beginning once it can claim")
                if !held.contains(k) { unclaimed(k, claim: state.withLock { $0.claimSnapshot(k) }, error: error) }
                continue
            }
            for o in state.withLock({ $0.restore(k, from: candidates) }) {
                offsets[TopicPartition(o.topic, o.partition)] = o.offset
            }
            if !held.contains(k) { claims.append((k, state.withLock { $0.claimSnapshot(k) })) }
        }
        // Before the tasks fold anything (the assignment takes effect after this callback), and
        // only once every task is listed: each claim's epoch then comes from a listing made
        // before any claim write, so a process paused in one claim write (and expelled meanwhile)
        // finds its later claims refused where the new owner has claimed, instead of listing the
        // new owner's claim and claiming the epoch above it.
        for (k, snapshot) in claims { claim(k, snapshot, in: store) }
        return offsets
    }

    /// Writes task `k`'s claim (see `SnapshotSequence`); on failure the task holds: it keeps its
    /// messages, folds and produces nothing, and `retryClaims` tries again each iteration. Why
    /// hold rather than fold unclaimed: outputs made before the claim is stored could be ranked
    /// below a former owner's later snapshot, which a restore would then prefer. Why not end the
    /// run at once: a lost race for an epoch is fixed by the next epoch, and a failing store is
    /// counted with the other snapshot failures, so `snapshotFailureLimit` in a row end the run.
    private func claim(_ k: Int32, _ snapshot: TaskSnapshot, in store: any SnapshotStore) {
        let started = clock.now
        do {
            try store.claim(snapshot)
        } catch {
            unclaimed(k, claim: snapshot, error: error)
            return
        }
        state.withLock { $0.claimed(k, sequence: snapshot.sequence) }
        snapshotWritten(k, since: started)
        logger.info("task \(k): claimed with snapshot \(SnapshotSequence(snapshot.sequence)) (owner epoch \(SnapshotSequence(snapshot.sequence).epoch))")
    }

    private func unclaimed(_ k: Int32, claim: TaskSnapshot, error: any Error) {
        state.withLock { $0.holdUnclaimed(k, claim: claim) }
        snapshotNotWritten(
            k, "claim \(SnapshotSequence(claim.sequence))", error, meanwhile: "; the task holds its inputs and outputs until a retry writes it")
    }

    /// Counts a failed snapshot write (a claim is one) towards `checkSnapshotFailures` and logs
    /// it; `meanwhile`: what the task does until a write succeeds.
    private func snapshotNotWritten(_ k: Int32, _ what: String, _ error: any Error, meanwhile: String = "") {
        metrics?.snapshotWriteFailed()
        let last = "task \(k): \(what) not written (\(error))"
        let (count, limit) = snapshotFailures.withLock { f in
            f.count += 1
            f.last = last
            return (f.count, options.snapshotFailureLimit)
        }
        logger.error("\(last)\(meanwhile); \(count) failure\(count == 1 ? "" : "s") in a row, the run stops at \(limit)")
    }

    /// A snapshot (or claim) of task `k` begun at `started` is stored: the failures in a row end,
    /// and its age counts from now.
    private func snapshotWritten(_ k: Int32, since started: ContinuousClock.Instant) {
        snapshotFailures.withLock { $0.count = 0 }
        let now = clock.now
        metrics?.snapshotWritten(seconds: started.duration(to: now).seconds)
        metrics?.setSnapshotAge(task: Int(k), seconds: 0)
        snapshotTimes.withLock { $0[k] = now }
    }

    /// Each task still without its claim lists its store again (another owner may have claimed
    /// the epoch it tried) and claims the epoch after the newest. Runs after the poll, so a task
    /// this process lost while paused is dropped first and never claimed over its new owner.
    private func retryClaims() {
        guard let store = options.snapshotStore else { return }
        let pending = state.withLock { s in s.unclaimed.filter { s.tasks[$0.key] != nil } }
        var claims: [(Int32, TaskSnapshot)] = []
        for (k, content) in pending.sorted(by: { $0.key < $1.key }) {
            var claim = content
            do {
                // The restore's own rule for the highest number stored (`SnapshotSelection`).
                let highest = try store.latestGood(group: options.groupId, task: k).highestSequence
                claim.sequence = SnapshotSequence(highest).nextClaim.raw
            } catch {
                unclaimed(k, claim: claim, error: error)
                continue
            }
            claims.append((k, claim))
        }
        // All listed before any is written, as in `prepareRestore`.
        for (k, claim) in claims { self.claim(k, claim, in: store) }
    }

    /// Snapshots the given tasks (all when nil). Called only when every output of the events
    /// folded so far has been delivered, so the snapshot's output offsets cover them.
    private func takeSnapshots(of partitions: Set<Int32>?) throws {
        guard let store = options.snapshotStore, let consumer = loop?.consumer else { return }
        let outputTopics = state.withLock { $0.outputPartitions }
        var outputOffsets: [OffsetEntry] = []
        for (topic, _, count) in outputTopics {
            for p in 0..<Int32(count) {
                let high = try consumer.queryWatermarks(TopicPartition(topic, p), timeoutMs: 5_000).high
                outputOffsets.append(OffsetEntry(topic: topic, partition: p, offset: high))
            }
        }
        let snapshots = state.withLock { $0.snapshots(of: partitions, outputOffsets: outputOffsets) }
        for snap in snapshots {
            let started = clock.now
            do {
                try store.save(snap)
            } catch {
                // Counted and logged; `checkSnapshotFailures` ends the run at the limit.
                snapshotNotWritten(snap.partition, "snapshot \(SnapshotSequence(snap.sequence))", error)
                continue
            }
            snapshotWritten(snap.partition, since: started)
        }
    }

    /// Ends the run once `snapshotFailureLimit` snapshot writes in a row have failed: without
    /// snapshots a restart re-folds ever more, and the operator must hear of it.
    private func checkSnapshotFailures() throws {
        let (count, last) = snapshotFailures.withLock { ($0.count, $0.last) }
        guard count >= options.snapshotFailureLimit else { return }
        throw LiveError("\(count) snapshot writes failed in a row (--snapshot-failure-limit \(options.snapshotFailureLimit)); the last: \(last)")
    }

    /// While the tasks here are behind their partitions' ends: how far, and how fast they fold.
    private func logCatchUp(_ consumer: any InputConsumer, folded: Int, in elapsed: Duration) {
        let behind = state.withLock { $0.lags(high: consumer.cachedHighWatermark) }.reduce(0) { $0 + $1.messages }
        guard behind > 0 else { return }
        let rate = Int(Double(folded) / max(elapsed.seconds, 0.001))
        logger.info("catching up: \(behind) messages behind the partitions' ends; \(folded) folded in the last \(Int(elapsed.seconds.rounded())) s (\(rate)/s)")
    }

    private func updateGauges(_ consumer: any InputConsumer) {
        guard let metrics else { return }
        let nowMs = Millis(Date().timeIntervalSince1970 * 1000)
        metrics.setReady(health().ready)
        let now = clock.now
        let snapshotting = options.snapshotStore != nil
        state.withLock { s in
            metrics.setAssignedTasks(s.tasks.count)
            if snapshotting {
                snapshotTimes.withLock { times in
                    times = times.filter { s.tasks[$0.key] != nil }
                    for k in s.tasks.keys {
                        metrics.setSnapshotAge(task: Int(k), seconds: times[k, default: now].duration(to: now).seconds)
                        if times[k] == nil { times[k] = now }
                    }
                }
            }
            for (k, t) in s.tasks {
                metrics.setStateSize(task: Int(k), customers: t.task.customerCount, pendingTimers: t.task.pendingTimers)
                if t.task.watermark != .min {
                    metrics.setWatermarkDelay(task: Int(k), milliseconds: Double(nowMs - t.task.watermark))
                }
            }
            for lag in s.lags(high: consumer.cachedHighWatermark) {
                metrics.setLag(topic: lag.topicPartition.topic, partition: Int(lag.topicPartition.partition), messages: lag.messages)
            }
        }
    }
}

extension Duration {
    /// The duration in (fractional) seconds, for metrics and benchmark reports.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

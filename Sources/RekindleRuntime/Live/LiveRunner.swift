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
    /// Exit once every assigned partition has been caught up this long, all delivered and committed.
    public var stopWhenIdleSeconds: Double?
    public var maxBatch = 10_000
    /// Where task snapshots go; nil: no snapshots, every assigned partition is re-folded from its
    /// beginning and outputs already produced are recognised by reading the output topics.
    public var snapshotStore: (any SnapshotStore)?
    public var snapshotIntervalSeconds: Double = 30
    public var snapshotEveryEvents = 500_000

    public init(bootstrap: String) { kafka = ["bootstrap.servers": bootstrap] }

    /// Settings that make a run fast against the embedded broker and harmless against a real one;
    /// the user's `kafka:` map wins.
    var consumerProperties: [String: String] {
        var p = ["session.timeout.ms": "6000", "fetch.wait.max.ms": "10", "group.id": groupId]
        p.merge(kafka) { _, user in user }
        return p
    }
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

    struct State {
        var tasks: [Int32: TaskRunner] = [:]
        var caughtUp: Set<Int32> = []
        /// Tasks restored from snapshots in the rebalance callback, waiting for their assignment.
        var restoring: [Int32: (task: CampaignTask, snapshot: TaskSnapshot)] = [:]
        /// Outputs already on the output topics that recovering tasks will derive again.
        var ledger = OutputLedger()
        var eventsSinceSnapshot = 0
        /// Partition counts of the output topics, for the recovery read.
        var outputPartitions: [(topic: String, kind: OutputLedger.OutputKind, count: Int)] = []
    }

    private let state = Mutex(State())
    private let stopRequested = Atomic<Bool>(false)

    public init(options: LiveOptions, metrics: RekindleMetrics? = nil, logger: Logger = Logger(label: "rekindle.run")) {
        self.options = options
        self.metrics = metrics
        self.logger = logger
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

    public func run() throws -> LiveSummary {
        let producer = try Producer(options.kafka)
        let consumer = try Consumer(options.consumerProperties, fromBeginning: true)
        try checkCoPartitioned(consumer)
        let outputs = options.topics
        let counts = try consumer.partitionCounts([outputs.triggers, outputs.conversions, outputs.deadLetters])
        state.withLock { s in
            let kinds: [(String, OutputLedger.OutputKind)] = [
                (outputs.triggers, .trigger), (outputs.conversions, .conversion), (outputs.deadLetters, .deadLetter),
            ]
            s.outputPartitions = kinds.map { (topic: $0.0, kind: $0.1, count: (counts[$0.0] ?? nil) ?? 0) }
        }
        consumer.startOffsets = { [unowned self] tps in self.prepareRestore(tps) }
        consumer.willRevoke = { [unowned self] tps in self.release(tps, consumer: consumer) }
        var lastSnapshot = ContinuousClock.now
        try consumer.subscribe(options.topics.inputs)
        var summary = LiveSummary(report: BacktestReport(rules: options.rules))
        var producedTriggers: [Trigger] = []
        var producedConversions: [Conversion] = []
        let keepForReport = options.stopWhenIdleSeconds != nil
        var idleSince: ContinuousClock.Instant?

        while !stopRequested.load(ordering: .relaxed) {
            var events: [ConsumerEvent] = []
            if let first = consumer.poll(timeoutMs: 50) {
                events.append(first)
                while events.count < options.maxBatch, let e = consumer.poll(timeoutMs: 0) { events.append(e) }
            }
            var out: [Output] = []
            var dead: [(DeadLetter, [UInt8]?, InputError.Kind)] = []
            let (idle, eventsIn) = state.withLock { s in step(events, &s, &out, &dead) }
            if summary.firstAssigned == nil, events.contains(where: { if case .assigned = $0 { return true } else { return false } }) {
                summary.firstAssigned = .now
            }
            summary.eventsIn += eventsIn
            summary.badInputs += dead.count

            for o in out {
                switch o {
                case .trigger(let t):
                    try producer.produce(topic: options.topics.triggers, key: Array(t.customerId.utf8), value: t.json)
                    metrics?.trigger(rule: t.ruleId)
                    if keepForReport { producedTriggers.append(t) }
                case .conversion(let c):
                    try producer.produce(topic: options.topics.conversions, key: Array(c.customerId.utf8), value: c.json)
                    metrics?.conversion(rule: c.ruleId)
                    if keepForReport { producedConversions.append(c) }
                }
            }
            for (letter, key, kind) in dead {
                try producer.produce(topic: options.topics.deadLetters, key: key, value: letter.json)
                if case .topic(let name, _, _) = letter.source { metrics?.badInput(topic: name, reason: kind.rawValue) }
            }
            if !out.isEmpty || !dead.isEmpty { try producer.flush() }
            commit(consumer)
            updateGauges(consumer)
            if !idle || !out.isEmpty || !dead.isEmpty { summary.lastBusy = .now }
            if options.snapshotStore != nil {
                let due = state.withLock { $0.eventsSinceSnapshot >= options.snapshotEveryEvents }
                    || lastSnapshot.duration(to: .now) >= .milliseconds(Int64(options.snapshotIntervalSeconds * 1000))
                if due {
                    try takeSnapshots(of: nil, consumer: consumer)
                    lastSnapshot = .now
                }
            }

            if let seconds = options.stopWhenIdleSeconds, idle, producer.outstanding == 0 {
                let now = ContinuousClock.now
                if let since = idleSince {
                    if since.duration(to: now) >= .milliseconds(Int64(seconds * 1000)) { break }
                } else {
                    idleSince = now
                }
            } else {
                idleSince = nil
            }
        }
        try producer.flush()
        commit(consumer)
        summary.report.add(triggers: producedTriggers, conversions: producedConversions)
        summary.report.events = summary.eventsIn
        summary.report.badInputs = summary.badInputs
        // Read the tasks before leaving the group: revocation drops them.
        state.withLock { s in
            summary.watermarks = s.tasks.keys.sorted().map { ($0, s.tasks[$0]!.task.watermark) }
            summary.report.partitions = s.tasks.count
            summary.report.lateEvents = s.tasks.values.reduce(0) { $0 + $1.task.stats.lateEvents }
            summary.report.ignoredOrderEvents = s.tasks.values.reduce(0) { $0 + $1.task.stats.ignoredOrderEvents }
            summary.report.watermark = s.tasks.values.map(\.task.watermark).max().flatMap { $0 == .min ? nil : $0 }
        }
        consumer.close()
        return summary
    }

    /// Task `k` is partition `k` of every input topic: they must exist and have one partition count
    /// (as Kafka Streams insists on co-partitioning).
    private func checkCoPartitioned(_ consumer: Consumer) throws {
        let counts = try consumer.partitionCounts(options.topics.inputs)
        let missing = options.topics.inputs.filter { counts[$0] == .some(nil) }
        if !missing.isEmpty {
            throw LiveError("input topic\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", ")) not found on \(options.kafka["bootstrap.servers"] ?? "the cluster") (create them with one partition count; see deploy/README.md)")
        }
        let distinct = Set(options.topics.inputs.compactMap { counts[$0] ?? nil })
        if distinct.count > 1 {
            let shown = options.topics.inputs.map { "\($0): \((counts[$0] ?? nil) ?? 0)" }.joined(separator: ", ")
            throw LiveError("input topics are not co-partitioned (\(shown)): task k reads partition k of each, so they need one partition count")
        }
    }

    /// Applies one batch of consumer events: assignments, messages, ends of partitions; then
    /// merges and folds every task, and advances idle tasks to the instance's watermark.
    /// Returns whether every assigned task is idle, and how many events were folded.
    private func step(_ events: [ConsumerEvent], _ s: inout State, _ out: inout [Output],
                      _ dead: inout [(DeadLetter, [UInt8]?, InputError.Kind)]) -> (Bool, Int) {
        for e in events {
            switch e {
            case .assigned(let tps):
                var recovering: [Int32: TaskSnapshot?] = [:]
                for tp in tps {
                    guard let topic = options.topics.input(named: tp.topic) else { continue }
                    if s.tasks[tp.partition] == nil {
                        if let restored = s.restoring.removeValue(forKey: tp.partition) {
                            var runner = TaskRunner(partition: tp.partition, task: restored.task)
                            runner.sequence = restored.snapshot.sequence
                            s.tasks[tp.partition] = runner
                            recovering[tp.partition] = restored.snapshot
                        } else {
                            s.tasks[tp.partition] = TaskRunner(
                                partition: tp.partition, rules: options.rules, allowedLatenessMs: options.allowedLatenessMs)
                            recovering[tp.partition] = .some(nil)
                        }
                        s.caughtUp.remove(tp.partition)
                    }
                    var input = TaskRunner.Input(assigned: true)
                    if case .some(.some(let snap)) = recovering[tp.partition] {
                        input.nextOffset = snap.inputOffsets.first { $0.topic == tp.topic && $0.partition == tp.partition }?.offset
                    }
                    s.tasks[tp.partition]!.inputs[topic.rawValue] = input
                }
                logger.info("assigned \(tps.map(\.description).sorted().joined(separator: " "))")
                if !recovering.isEmpty { recoveryRead(recovering, &s) }
            case .revoked(let tps):
                logger.info("revoked \(tps.map(\.description).sorted().joined(separator: " "))")
            case .message(let m):
                guard let topic = options.topics.input(named: m.topicPartition.topic),
                    s.tasks[m.topicPartition.partition] != nil
                else { continue }
                metrics?.eventIn(topic: m.topicPartition.topic)
                s.tasks[m.topicPartition.partition]!.inputs[topic.rawValue].atEnd = false
                s.tasks[m.topicPartition.partition]!.inputs[topic.rawValue].buffer.append(InputMessage.validate(m, topic: topic))
            case .endOfPartition(let tp, _):
                guard let topic = options.topics.input(named: tp.topic), s.tasks[tp.partition] != nil else { continue }
                s.tasks[tp.partition]!.inputs[topic.rawValue].atEnd = true
            case .error(let error):
                logger.warning("\(error)")
            }
        }
        var folded = 0
        for k in s.tasks.keys.sorted() {
            let before = s.tasks[k]!.task.stats.lateEvents
            s.tasks[k]!.drain(into: &out, deadLetters: &dead) { _ in folded += 1 }
            let late = s.tasks[k]!.task.stats.lateEvents - before
            for _ in 0..<late { metrics?.lateEvent(task: Int(k)) }
        }
        metrics?.eventsProcessed(folded)
        // Spec section 4: an idle task follows the instance's watermark, the smallest among
        // tasks still busy, or the largest of all when every task is idle.
        let idle = s.tasks.filter { $0.value.isIdle }.map(\.key)
        for k in idle { s.caughtUp.insert(k) }
        let busy = s.tasks.filter { !$0.value.isIdle }.map { $0.value.task.watermark }
        let target = busy.isEmpty ? s.tasks.values.map(\.task.watermark).max() : busy.min()
        if let target, target != .min {
            for k in idle.sorted() { s.tasks[k]!.task.advance(to: target, into: &out) }
        }
        s.eventsSinceSnapshot += folded
        // Recovery: what is already on the output topics is not produced again.
        if !s.ledger.isEmpty {
            let before = s.ledger.suppressed
            out.removeAll { o in
                switch o {
                case .trigger(let t): return s.ledger.alreadyProduced(OutputLedger.key(t))
                case .conversion(let c): return s.ledger.alreadyProduced(OutputLedger.key(c))
                }
            }
            dead.removeAll { s.ledger.alreadyProduced(OutputLedger.key($0.0)) }
            metrics?.outputsSuppressed(s.ledger.suppressed - before)
            // Caught up everywhere: anything left was not ours to re-derive.
            if busy.isEmpty { s.ledger.clear() }
        }
        return (!s.tasks.isEmpty && busy.isEmpty, folded)
    }

    /// Commits, for every input partition, the offset after the last message whose outputs
    /// have been delivered. Failures (e.g. during a rebalance) are logged and retried later.
    private func commit(_ consumer: Consumer) {
        let offsets: [TopicPartitionOffset] = state.withLock { s in
            var list: [TopicPartitionOffset] = []
            for (k, t) in s.tasks {
                for topic in Topic.allCases {
                    let input = t.inputs[topic.rawValue]
                    if let next = input.nextOffset, next != input.committed {
                        list.append(TopicPartitionOffset(TopicPartition(options.topics.name(of: topic), k), offset: next))
                    }
                }
            }
            return list
        }
        guard !offsets.isEmpty else { return }
        do {
            try consumer.commit(offsets)
            state.withLock { s in
                for o in offsets {
                    guard let topic = options.topics.input(named: o.topicPartition.topic) else { continue }
                    s.tasks[o.topicPartition.partition]?.inputs[topic.rawValue].committed = o.offset
                }
            }
        } catch {
            logger.warning("commit failed, will retry: \(error)")
        }
    }

    /// On revocation: commit what was delivered, snapshot, then drop the tasks of those partitions.
    private func release(_ tps: [TopicPartition], consumer: Consumer) {
        commit(consumer)
        if options.snapshotStore != nil {
            do {
                try takeSnapshots(of: Set(tps.map(\.partition)), consumer: consumer)
            } catch {
                logger.error("snapshot on revocation failed: \(error)")
            }
        }
        state.withLock { s in
            for tp in tps {
                guard let topic = options.topics.input(named: tp.topic) else { continue }
                s.tasks[tp.partition]?.inputs[topic.rawValue] = TaskRunner.Input()
                if let t = s.tasks[tp.partition], !t.hasAssignedInput {
                    s.tasks[tp.partition] = nil
                    s.caughtUp.remove(tp.partition)
                    metrics?.removeTask(Int(tp.partition))
                }
            }
        }
    }

    /// Runs in the rebalance callback, before the assignment takes effect: restores each newly
    /// assigned task from its newest good snapshot and returns where its inputs resume.
    private func prepareRestore(_ tps: [TopicPartition]) -> [TopicPartition: Int64] {
        guard let store = options.snapshotStore else { return [:] }
        var offsets: [TopicPartition: Int64] = [:]
        let partitions = Set(tps.filter { options.topics.input(named: $0.topic) != nil }.map(\.partition))
        for k in partitions.sorted() {
            let candidates: [(name: String, bytes: [UInt8])]
            do { candidates = try store.candidates(partition: k) } catch {
                logger.error("cannot list snapshots of task \(k): \(error)")
                continue
            }
            for (name, bytes) in candidates {
                do throws(SnapshotError) {
                    let snap = try TaskSnapshot.decode(bytes)
                    guard snap.partition == k else { throw SnapshotError("belongs to task \(snap.partition)") }
                    let task = try CampaignTask(restoring: snap.state, rules: options.rules, allowedLatenessMs: options.allowedLatenessMs)
                    state.withLock { $0.restoring[k] = (task, snap) }
                    for o in snap.inputOffsets { offsets[TopicPartition(o.topic, o.partition)] = o.offset }
                    logger.info("task \(k): restored snapshot \(snap.sequence) (watermark \(snap.watermark == .min ? "none" : Timestamp.format(snap.watermark)))")
                    break
                } catch {
                    logger.warning("task \(k): snapshot \(name) rejected (\(error.message)), trying an older one")
                    metrics?.snapshotRejected()
                }
            }
        }
        return offsets
    }

    /// Learns which outputs the recovering tasks already produced: each output partition is read
    /// from the earliest of those tasks' snapshot output offsets (the beginning without one).
    private func recoveryRead(_ recovering: [Int32: TaskSnapshot?], _ s: inout State) {
        var starts: [(topic: String, kind: OutputLedger.OutputKind, partition: Int32, offset: Int64)] = []
        for (topic, kind, count) in s.outputPartitions {
            for p in 0..<Int32(count) {
                let from = recovering.values.map { snap -> Int64 in
                    snap?.outputOffsets.first { $0.topic == topic && $0.partition == p }?.offset ?? 0
                }.min() ?? 0
                starts.append((topic, kind, p, from))
            }
        }
        do {
            var ledger = try OutputLedger.read(starts, kafka: options.kafka)
            // Merge: keep what an earlier recovery still expects.
            ledger.absorb(s.ledger)
            s.ledger = ledger
        } catch {
            logger.error("recovery read failed: \(error); outputs may repeat")
        }
    }

    /// Snapshots the given tasks (all when nil). Called only when every output of the events
    /// folded so far has been delivered, so the snapshot's output offsets cover them.
    private func takeSnapshots(of partitions: Set<Int32>?, consumer: Consumer) throws {
        guard let store = options.snapshotStore else { return }
        let outputTopics = state.withLock { $0.outputPartitions }
        var outputOffsets: [OffsetEntry] = []
        for (topic, _, count) in outputTopics {
            for p in 0..<Int32(count) {
                let high = try consumer.queryWatermarks(TopicPartition(topic, p)).high
                outputOffsets.append(OffsetEntry(topic: topic, partition: p, offset: high))
            }
        }
        let snapshots: [TaskSnapshot] = state.withLock { s in
            s.eventsSinceSnapshot = 0
            var list: [TaskSnapshot] = []
            for k in s.tasks.keys.sorted() where partitions?.contains(k) ?? true {
                s.tasks[k]!.sequence += 1
                let t = s.tasks[k]!
                var inputs: [OffsetEntry] = []
                for topic in Topic.allCases where t.inputs[topic.rawValue].assigned {
                    inputs.append(OffsetEntry(topic: options.topics.name(of: topic), partition: k,
                                              offset: t.inputs[topic.rawValue].nextOffset ?? 0))
                }
                list.append(TaskSnapshot(
                    partition: k, sequence: t.sequence, rulesVersion: options.rules.hash, watermark: t.task.watermark,
                    inputOffsets: inputs, outputOffsets: outputOffsets, state: t.task.encodeState()))
            }
            return list
        }
        for snap in snapshots {
            let started = ContinuousClock.now
            try store.save(snap)
            let d = started.duration(to: .now)
            metrics?.snapshotWritten(seconds: Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
            metrics?.setSnapshotAge(task: Int(snap.partition), seconds: 0)
        }
    }

    private func updateGauges(_ consumer: Consumer) {
        guard let metrics else { return }
        let nowMs = Millis(Date().timeIntervalSince1970 * 1000)
        state.withLock { s in
            metrics.setAssignedTasks(s.tasks.count)
            for (k, t) in s.tasks {
                metrics.setStateSize(task: Int(k), customers: t.task.customerCount, pendingTimers: t.task.pendingTimers)
                if t.task.watermark != .min {
                    metrics.setWatermarkDelay(task: Int(k), milliseconds: Double(nowMs - t.task.watermark))
                }
                for topic in Topic.allCases where t.inputs[topic.rawValue].assigned {
                    let tp = TopicPartition(options.topics.name(of: topic), k)
                    if let high = consumer.cachedHighWatermark(tp) {
                        let next = t.inputs[topic.rawValue].nextOffset ?? 0
                        metrics.setLag(topic: tp.topic, partition: Int(k), messages: max(0, high - next))
                    }
                }
            }
        }
    }
}

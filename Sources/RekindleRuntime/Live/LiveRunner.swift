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
/// writing triggers, conversions and dead letters, committing input offsets only after the
/// outputs they caused are delivered (at-least-once).
///
/// State is rebuilt by re-folding each assigned partition from its beginning (until snapshots
/// exist), so a restart or a moved partition repeats earlier outputs: at-least-once.
public final class LiveRunner: @unchecked Sendable {
    public let options: LiveOptions
    let metrics: RekindleMetrics?
    let logger: Logger

    struct State {
        var tasks: [Int32: TaskRunner] = [:]
        var caughtUp: Set<Int32> = []
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
        consumer.willRevoke = { [unowned self] tps in self.release(tps, consumer: consumer) }
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
                for tp in tps {
                    guard let topic = options.topics.input(named: tp.topic) else { continue }
                    if s.tasks[tp.partition] == nil {
                        s.tasks[tp.partition] = TaskRunner(
                            partition: tp.partition, rules: options.rules, allowedLatenessMs: options.allowedLatenessMs)
                        s.caughtUp.remove(tp.partition)
                    }
                    s.tasks[tp.partition]!.inputs[topic.rawValue] = TaskRunner.Input(assigned: true)
                }
                logger.info("assigned \(tps.map(\.description).sorted().joined(separator: " "))")
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

    /// On revocation: commit what was delivered, then drop the tasks of those partitions.
    private func release(_ tps: [TopicPartition], consumer: Consumer) {
        commit(consumer)
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

import Logging
import RekindleCore
import RekindleKafka

/// The live runner's logic without its transport: tasks per partition number, their merge and
/// fold, idle tasks following the instance watermark, restore from snapshots, the recovery ledger,
/// and snapshot and commit bookkeeping. `LiveRunner` feeds it its consumer's events (librdkafka's
/// in `rekindle run`, a simulated log's in `rekindle simulate`). Not thread-safe: the owner
/// serialises calls.
public struct LiveEngine: Sendable {
    private(set) var rules: RuleSet
    let topics: TopicNames
    let allowedLatenessMs: Millis
    /// How far an event's `occurred_at` may be ahead of its message's timestamp (a broken clock).
    var maxFutureSkewMs = EventDecoder.defaultMaxFutureSkewMs
    let metrics: RekindleMetrics?
    let logger: Logger
    /// The consumer group: written into every snapshot, and a snapshot of another group is refused.
    let groupId: String

    var tasks: [Int32: TaskRunner] = [:]
    var caughtUp: Set<Int32> = []
    /// Tasks restored from snapshots, waiting for their assignment.
    var restoring: [Int32: (task: CampaignTask, snapshot: TaskSnapshot)] = [:]
    /// The highest sequence in each restoring task's store: its next snapshot is numbered after it.
    /// Once the task's claim is written, the claim's sequence.
    var storedSequence: [Int32: UInt64] = [:]
    /// Tasks whose claim snapshot is not written yet (the write failed, or lost a race for its
    /// epoch), with what the claim holds: they neither fold nor produce until it is written
    /// (`LiveRunner` retries it each iteration), so a former owner's later snapshot can never
    /// rank above outputs they made. See `SnapshotSequence`.
    var unclaimed: [Int32: TaskSnapshot] = [:]
    /// Outputs already on the output topics that recovering tasks will derive again.
    var ledger = OutputLedger()
    /// Where the recovery read began, while its ledger is not used up: a snapshot taken meanwhile
    /// must not claim the outputs past it, which its tasks have not re-derived yet.
    var recoveryFloor: [TopicPartition: Int64] = [:]
    var eventsSinceSnapshot = 0
    /// Each task's lift counts when the metrics last took them (a restored task's count from
    /// before this process is not new here).
    var liftSeen: [Int32: [LiftCounts]] = [:]
    /// Partition counts of the output topics, for the recovery read and snapshot offsets.
    public var outputPartitions: [(topic: String, kind: OutputLedger.OutputKind, count: Int)] = []

    public init(rules: RuleSet, topics: TopicNames, allowedLatenessMs: Millis, metrics: RekindleMetrics?, logger: Logger,
         groupId: String = "rekindle") {
        self.rules = rules
        self.topics = topics
        self.allowedLatenessMs = allowedLatenessMs
        self.metrics = metrics
        self.logger = logger
        self.groupId = groupId
    }

    public typealias DeadLetterOut = (letter: DeadLetter, key: [UInt8]?, kind: InputError.Kind)
    /// A task's outputs of one step in the order it derived them (a transactional producer is per
    /// task), each with its message for the output topics, made where the task folded (on its
    /// core, during the parallel fold): the trigger id, the JSON and the key. The loop's one
    /// thread then only hands the messages on, without copying an output.
    public struct TaskOutput: Sendable {
        public let task: Int32
        public private(set) var outputs: [Output]
        private(set) var messages: [DeliveryPipeline.Message] = []

        init(task: Int32, outputs: [Output], topics: TopicNames) {
            self.task = task
            self.outputs = outputs
            messages.reserveCapacity(outputs.count)
            for k in self.outputs.indices {
                self.outputs[k].settleId()
                let topic: String, customer: String
                switch self.outputs[k] {
                case .trigger(let t): (topic, customer) = (topics.triggers, t.customerId)
                case .conversion(let c): (topic, customer) = (topics.conversions, c.customerId)
                case .withheld(let t): (topic, customer) = (topics.withheld, t.customerId)
                }
                messages.append(.init(topic: topic, key: Array(customer.utf8), value: self.outputs[k].json))
            }
        }

        /// Leaves out the outputs `drop` names, with their messages (recovery: those already on
        /// the output topics).
        mutating func removeAll(where drop: (Output) -> Bool) {
            var kept = 0
            for k in outputs.indices where !drop(outputs[k]) {
                outputs.swapAt(kept, k)
                messages.swapAt(kept, k)
                kept += 1
            }
            outputs.removeLast(outputs.count - kept)
            messages.removeLast(messages.count - kept)
        }
    }
    /// Reads output partitions from the given offsets to their end.
    public typealias OutputReader = ([(topic: String, kind: OutputLedger.OutputKind, partition: Int32, offset: Int64)]) throws -> OutputLedger

    /// Each task's watermark, by partition number.
    public var watermarks: [(partition: Int32, watermark: Millis)] {
        tasks.keys.sorted().map { ($0, tasks[$0]!.task.watermark) }
    }

    /// Every task caught up on its assigned partitions, with nothing left to merge.
    public var tasksAreIdle: Bool { tasks.values.allSatisfy(\.isIdle) }

    // MARK: - Restore

    /// Restores task `k` from the newest of `candidates` (newest first) that decodes, is this
    /// group's task `k` and restores; returns where its inputs resume (empty: from the beginning).
    /// Every rejection is a warning, and so is a task that re-folds because all were rejected.
    public mutating func restore(_ k: Int32, from candidates: [SnapshotCandidate]) -> [OffsetEntry] {
        let (rules, lateness) = (self.rules, allowedLatenessMs)
        let (found, task) = SnapshotSelection.newestGood(candidates, group: groupId, task: k) { snap throws(SnapshotError) in
            try CampaignTask(restoring: snap.state, rules: rules, allowedLatenessMs: lateness)
        }
        for r in found.rejected {
            logger.warning("task \(k): snapshot \(r.name) rejected (\(r.reason))\(task == nil ? "" : ", an older one is used")")
            metrics?.snapshotRejected()
        }
        storedSequence[k] = found.highestSequence
        guard let snap = found.snapshot, let task else {
            restoring[k] = nil
            if !found.rejected.isEmpty {
                let reasons = found.rejected.map { "\($0.name): \($0.reason)" }.joined(separator: "; ")
                logger.warning("task \(k): all \(found.rejected.count) stored snapshots rejected (\(reasons)); re-folding its partitions from the beginning")
            }
            return []
        }
        if snap.groupId == nil {
            logger.info("task \(k): snapshot \(SnapshotSequence(snap.sequence)) is format 1, which records no consumer group: accepted for task \(k)")
        }
        if snap.rulesVersion != rules.hash {
            // Rules are carried over on restore (spec section 4), so this is expected after a rule change.
            logger.notice("task \(k): snapshot \(SnapshotSequence(snap.sequence)) was taken under rules \(snap.rulesVersion), not the current \(rules.hash); its state continues under the current rules from its watermark on")
        }
        restoring[k] = (task, snap)
        for note in task.restoreNotes { logger.notice("task \(k): snapshot \(SnapshotSequence(snap.sequence)): \(note)") }
        logger.info("task \(k): restored snapshot \(SnapshotSequence(snap.sequence)) (watermark \(snap.watermark == .min ? "none" : Timestamp.format(snap.watermark)))")
        return snap.inputOffsets
    }

    // MARK: - Claims

    /// Task `k`'s claim: the snapshot it restored (or an empty task), renumbered as the first of
    /// the epoch after every snapshot stored for it, in this group's name. Empty offsets in a
    /// fresh task's claim mean what no snapshot means: from the beginning.
    func claimSnapshot(_ k: Int32) -> TaskSnapshot {
        let sequence = SnapshotSequence(storedSequence[k] ?? 0).nextClaim.raw
        if var snap = restoring[k]?.snapshot {
            snap.sequence = sequence
            snap.groupId = groupId
            return snap
        }
        let fresh = CampaignTask(rules: rules, allowedLatenessMs: allowedLatenessMs)
        return TaskSnapshot(
            groupId: groupId, partition: k, sequence: sequence, rulesVersion: rules.hash, watermark: fresh.watermark,
            inputOffsets: [], outputOffsets: [], state: fresh.encodeState())
    }

    /// The claim is stored: the task's snapshots continue after it, and it may fold.
    mutating func claimed(_ k: Int32, sequence: UInt64) {
        unclaimed[k] = nil
        storedSequence[k] = sequence
        tasks[k]?.sequence = sequence
    }

    /// The claim was not stored: the task holds until a retry stores `claim` renumbered.
    mutating func holdUnclaimed(_ k: Int32, claim: TaskSnapshot) { unclaimed[k] = claim }

    // MARK: - Steps

    /// Applies one batch of consumer events: assignments (with recovery), messages, ends of
    /// partitions; then merges and folds every task and advances idle tasks to the instance's
    /// watermark. Outputs already on their topics are dropped. Returns whether every assigned task
    /// is idle, and how many events were folded.
    public mutating func step(_ events: [ConsumerEvent], out: inout [TaskOutput], dead: inout [DeadLetterOut],
                       readOutputs: OutputReader) -> (idle: Bool, folded: Int) {
        for e in events {
            switch e {
            case .assigned(let tps): assign(tps, readOutputs: readOutputs)
            case .revoked(let tps): logger.info("revoked \(tps.map(\.description).sorted().joined(separator: " "))")
            case .message(let m):
                guard let topic = topics.input(named: m.topicPartition.topic), tasks[m.topicPartition.partition] != nil else {
                    continue
                }
                metrics?.eventIn(topic: m.topicPartition.topic)
                let runner = tasks[m.topicPartition.partition]!
                runner.inputs[topic.rawValue].atEnd = false
                runner.inbox.append((topic, m))  // validated with the fold, on the task's worker
            case .endOfPartition(let tp, _):
                guard let topic = topics.input(named: tp.topic), tasks[tp.partition] != nil else { continue }
                tasks[tp.partition]!.inputs[topic.rawValue].atEnd = true
            case .error(let error):
                logger.warning("\(error)")
            }
        }
        var folded = 0
        let order = tasks.keys.sorted()
        // A task without its claim keeps its messages and derives nothing (not even by a timer).
        let folding = order.filter { unclaimed[$0] == nil }
        for (k, result) in zip(folding, TaskRunner.foldInParallel(folding.map { tasks[$0]! }, maxFutureSkewMs: maxFutureSkewMs, topics: topics)) {
            if !result.out.outputs.isEmpty { out.append(result.out) }
            dead.append(contentsOf: result.deadLetters.map { (letter: $0.0, key: $0.1, kind: $0.2) })
            folded += result.folded
            for _ in 0..<result.late { metrics?.lateEvent(task: Int(k)) }
        }
        metrics?.eventsProcessed(folded)
        countLift()
        // Spec section 4: an idle task follows the instance's watermark, the smallest among
        // tasks still busy, or the largest of all when every task is idle.
        let idle = folding.filter { tasks[$0]!.isIdle }
        for k in idle { caughtUp.insert(k) }
        let busy = order.filter { unclaimed[$0] != nil || !tasks[$0]!.isIdle }.map { tasks[$0]!.task.watermark }
        let target = busy.isEmpty ? order.map { tasks[$0]!.task.watermark }.max() : busy.min()
        if let target, target != .min {
            for k in idle.sorted() {
                var derived: [Output] = []
                tasks[k]!.task.advance(to: target, into: &derived)
                if !derived.isEmpty { out.append(TaskOutput(task: k, outputs: derived, topics: topics)) }
            }
        }
        eventsSinceSnapshot += folded
        // Recovery: what is already on the output topics is not produced again.
        if !ledger.isEmpty {
            let before = ledger.suppressed
            for i in out.indices {
                out[i].removeAll { o in
                    switch o {
                    case .trigger(let t): return ledger.alreadyProduced(OutputLedger.key(t))
                    case .conversion(let c): return ledger.alreadyProduced(OutputLedger.key(c))
                    case .withheld(let t): return ledger.alreadyProduced(OutputLedger.key(withheld: t))
                    }
                }
            }
            out.removeAll { $0.outputs.isEmpty }
            dead.removeAll { ledger.alreadyProduced(OutputLedger.key($0.letter)) }
            metrics?.outputsSuppressed(ledger.suppressed - before)
            // Outputs timed before every task's watermark will not be derived here again (a timer
            // due exactly at a watermark may still fire, so "before", not "at").
            if let lowest = tasks.values.map(\.task.watermark).min(), lowest != .min { ledger.forget(before: lowest) }
            if busy.isEmpty { ledger.forgetDeadLetters() }
        }
        if ledger.isEmpty { recoveryFloor = [:] }
        return (!tasks.isEmpty && busy.isEmpty, folded)
    }

    /// New partitions: tasks restored (or fresh) resume where their snapshot says, after learning
    /// from the output topics what they already produced.
    mutating func assign(_ tps: [TopicPartition], readOutputs: OutputReader) {
        var recovering: [Int32: TaskSnapshot?] = [:]
        for tp in tps {
            guard let topic = topics.input(named: tp.topic) else { continue }
            if tasks[tp.partition] == nil {
                // New snapshots are numbered after everything stored, so no foreign or unreadable
                // snapshot can shadow them.
                let stored = storedSequence.removeValue(forKey: tp.partition) ?? 0
                if let restored = restoring.removeValue(forKey: tp.partition) {
                    let runner = TaskRunner(partition: tp.partition, task: restored.task)
                    runner.sequence = max(restored.snapshot.sequence, stored)
                    tasks[tp.partition] = runner
                    recovering[tp.partition] = restored.snapshot
                } else {
                    let runner = TaskRunner(partition: tp.partition, rules: rules, allowedLatenessMs: allowedLatenessMs)
                    runner.sequence = stored
                    tasks[tp.partition] = runner
                    recovering[tp.partition] = .some(nil)
                }
                caughtUp.remove(tp.partition)
                liftSeen[tp.partition] = tasks[tp.partition]!.task.lift
            }
            var input = TaskRunner.Input(assigned: true)
            if case .some(.some(let snap)) = recovering[tp.partition] {
                input.nextOffset = snap.inputOffsets.first { $0.topic == tp.topic && $0.partition == tp.partition }?.offset
            }
            tasks[tp.partition]!.inputs[topic.rawValue] = input
        }
        logger.info("assigned \(tps.map(\.description).sorted().joined(separator: " "))")
        guard !recovering.isEmpty else { return }
        // Each output partition is read from the earliest of the recovering tasks' snapshot
        // output offsets (from the beginning for a task without a snapshot).
        var starts: [(topic: String, kind: OutputLedger.OutputKind, partition: Int32, offset: Int64)] = []
        for (topic, kind, count) in outputPartitions {
            for p in 0..<Int32(count) {
                let from = recovering.values.map { snap -> Int64 in
                    snap?.outputOffsets.first { $0.topic == topic && $0.partition == p }?.offset ?? 0
                }.min() ?? 0
                starts.append((topic, kind, p, from))
            }
        }
        for s in starts {
            let tp = TopicPartition(s.topic, s.partition)
            recoveryFloor[tp] = min(recoveryFloor[tp] ?? s.offset, s.offset)
        }
        do {
            var read = try readOutputs(starts)
            read.absorb(ledger)  // keep what an earlier recovery still expects
            ledger = read
        } catch {
            logger.error("recovery read failed: \(error); outputs may repeat")
        }
    }

    /// Drops the tasks whose partitions are gone.
    public mutating func release(_ tps: [TopicPartition]) {
        for tp in tps {
            guard let topic = topics.input(named: tp.topic) else { continue }
            tasks[tp.partition]?.inputs[topic.rawValue] = TaskRunner.Input()
            metrics?.removeLag(topic: tp.topic, partition: Int(tp.partition))
            if let t = tasks[tp.partition], !t.hasAssignedInput {
                tasks[tp.partition] = nil
                unclaimed[tp.partition] = nil
                liftSeen[tp.partition] = nil
                caughtUp.remove(tp.partition)
                metrics?.removeTask(Int(tp.partition))
            }
        }
    }

    /// Adds what the folds since the last call added to each rule's experiment arms to the metrics
    /// (spec 7.2: a dashboard shows lift without a replay).
    mutating func countLift() {
        guard let metrics, rules.experiments != nil else { return }
        for (k, t) in tasks {
            let now = t.task.lift
            let seen = liftSeen[k] ?? []
            for (r, counts) in now.enumerated() {
                let before = r < seen.count ? seen[r] : LiftCounts()
                guard counts != before else { continue }
                let rule = rules.rules[r].id
                metrics.lift(rule: rule, group: "treated", now: counts.treated, before: before.treated)
                metrics.lift(rule: rule, group: "control", now: counts.control, before: before.control)
            }
            liftSeen[k] = now
        }
    }

    /// Spec section 4: a changed rule set takes effect from each task's current time; touches
    /// whose time has passed are not fired retroactively. Each task is carried over through its
    /// snapshot form, which reschedules every customer under the new rules.
    mutating func reload(_ newRules: RuleSet) throws(SnapshotError) {
        var carried: [Int32: CampaignTask] = [:]
        for (k, t) in tasks {
            carried[k] = try CampaignTask(restoring: t.task.encodeState(), rules: newRules, allowedLatenessMs: allowedLatenessMs)
        }
        for (k, task) in carried {
            tasks[k]!.task = task
            liftSeen[k] = task.lift
        }
        for (k, r) in restoring {
            restoring[k] = (try CampaignTask(restoring: r.task.encodeState(), rules: newRules, allowedLatenessMs: allowedLatenessMs), r.snapshot)
        }
        rules = newRules
    }

    // MARK: - Checkpoints

    /// Snapshots of the given tasks (all when nil). The caller guarantees that every output of the
    /// events folded so far is delivered and that `outputOffsets` are the output ends after that.
    public mutating func snapshots(of partitions: Set<Int32>?, outputOffsets ends: [OffsetEntry]) -> [TaskSnapshot] {
        eventsSinceSnapshot = 0
        // While recovering, outputs past the recovery read's start are not yet re-derived by this
        // state: the snapshot must send a later recovery back there, not to the current end.
        let outputOffsets = ends.map { e in
            var e = e
            if let floor = recoveryFloor[TopicPartition(e.topic, e.partition)] { e.offset = min(e.offset, floor) }
            return e
        }
        var list: [TaskSnapshot] = []
        // A task without its claim is not snapshotted: its numbers are not its own yet.
        for k in tasks.keys.sorted() where (partitions?.contains(k) ?? true) && unclaimed[k] == nil {
            tasks[k]!.sequence += 1
            let t = tasks[k]!
            var inputs: [OffsetEntry] = []
            for topic in Topic.allCases where t.inputs[topic.rawValue].assigned {
                inputs.append(OffsetEntry(topic: topics.name(of: topic), partition: k, offset: t.inputs[topic.rawValue].nextOffset ?? 0))
            }
            list.append(TaskSnapshot(
                groupId: groupId, partition: k, sequence: t.sequence, rulesVersion: rules.hash, watermark: t.task.watermark,
                inputOffsets: inputs, outputOffsets: outputOffsets, state: t.task.encodeState()))
        }
        return list
    }

    /// Where every task's inputs stand: the offset after the last message folded or dead-lettered.
    func positions() -> [TopicPartitionOffset] {
        var list: [TopicPartitionOffset] = []
        for k in tasks.keys.sorted() {
            let t = tasks[k]!
            for topic in Topic.allCases {
                if let next = t.inputs[topic.rawValue].nextOffset {
                    list.append(TopicPartitionOffset(TopicPartition(topics.name(of: topic), k), offset: next))
                }
            }
        }
        return list
    }

    /// Each assigned input partition's lag: the messages from the task's position to the end
    /// `high` gives (where it knows one).
    func lags(high: (TopicPartition) -> Int64?) -> [(topicPartition: TopicPartition, messages: Int64)] {
        var list: [(topicPartition: TopicPartition, messages: Int64)] = []
        for k in tasks.keys.sorted() {
            let t = tasks[k]!
            for topic in Topic.allCases where t.inputs[topic.rawValue].assigned {
                let tp = TopicPartition(topics.name(of: topic), k)
                if let end = high(tp) { list.append((tp, max(0, end - (t.inputs[topic.rawValue].nextOffset ?? 0)))) }
            }
        }
        return list
    }

    /// Of `delivered` (positions whose outputs are all delivered), those of partitions still
    /// assigned here that the group has not been given yet.
    func uncommitted(_ delivered: [TopicPartitionOffset]) -> [TopicPartitionOffset] {
        delivered.filter { o in
            guard let topic = topics.input(named: o.topicPartition.topic), let t = tasks[o.topicPartition.partition] else { return false }
            let input = t.inputs[topic.rawValue]
            return input.assigned && input.committed != o.offset
        }
    }

    mutating func markCommitted(_ offsets: [TopicPartitionOffset]) {
        for o in offsets {
            guard let topic = topics.input(named: o.topicPartition.topic) else { continue }
            tasks[o.topicPartition.partition]?.inputs[topic.rawValue].committed = o.offset
        }
    }
}

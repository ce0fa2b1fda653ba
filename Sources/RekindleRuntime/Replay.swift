import Foundation
import RekindleCore
import Synchronization

/// `rekindle replay`: runs the core over history from files, exactly as a live run on
/// `partitions` topics would have (spec section 4, File replay).
public struct Replay {
    public var rules: RuleSet
    public var partitions = 1
    public var partitioner = Partitioner.murmur2
    public var until: Millis?
    public var allowedLatenessMs: Millis = 0

    public init(rules: RuleSet) { self.rules = rules }

    public struct Result: Sendable {
        public var triggers: [Trigger] = []
        public var conversions: [Conversion] = []
        /// Touches withheld (spec 7.1), in time order.
        public var withheld: [Trigger] = []
        public var deadLetters: [DeadLetter] = []
        public var report: BacktestReport
    }

    /// Folds the events (any order) and returns the outputs in event-time order.
    public func run(events input: [SourcedEvent], deadLetters: [DeadLetter], progress: Progress? = nil) -> Result {
        var events = input
        // Already in occurred_at order (as a topic dump usually is): no sort.
        let sorted = zip(events, events.dropFirst()).allSatisfy { $0.event.occurredAt <= $1.event.occurredAt }
        if !sorted {
            events.sort { a, b in
                a.event.occurredAt != b.event.occurredAt ? a.event.occurredAt < b.event.occurredAt : a.sequence < b.sequence
            }
        }
        let end = until ?? events.last?.event.occurredAt ?? Millis.min
        var perTask = [[SourcedEvent]](repeating: [], count: partitions)
        var afterUntil = 0
        for e in events {
            if e.event.occurredAt > end {
                afterUntil += 1
                continue
            }
            perTask[partitioner.partition(e.event.customerId, count: partitions)].append(e)
        }
        // Tasks share nothing: they fold on every core at once, each into its own slot, and the
        // merge below orders their outputs exactly as a one-thread loop over them would.
        let rules = rules, lateness = allowedLatenessMs, routed = perTask
        let finished = Replay.foldTasks(partitions, total: events.count, progress: progress) { k in
            var task = CampaignTask(rules: rules, allowedLatenessMs: lateness)
            var fold = TaskFold(stats: task.stats)
            for e in routed[k] {
                if task.fold(e, into: &fold.out, refused: &fold.refused) { fold.folded += 1 }
            }
            if end != Millis.min { task.advance(to: end, into: &fold.out) }
            (fold.stats, fold.lift, fold.events) = (task.stats, task.lift, routed[k].count)
            return fold
        }
        return Replay.result(rules: rules, tasks: finished, deadLetters: deadLetters, afterUntil: afterUntil, watermark: end)
    }

    /// What one task's fold hands to the merge: its outputs in firing order, its counts, and the
    /// dead letters of events it refused (or, from topics, of every bad message, in its order).
    struct TaskFold: Sendable {
        var out: [Output] = []
        var stats: TaskStats
        var folded = 0
        var refused: [DeadLetter] = []
        var lift: [LiftCounts] = []
        /// Events routed to the task, for the progress count.
        var events = 0
    }

    /// Runs `fold` for every task on every core at once, each into its own slot, with progress.
    static func foldTasks(_ count: Int, total: Int, progress: Progress?, _ fold: @Sendable (Int) -> TaskFold) -> [TaskFold] {
        let done = Mutex(0)
        let folds = concurrentMap(count) { k in
            let result = fold(k)
            let foldedSoFar = done.withLock { n in
                n += result.events
                return n
            }
            progress?.update("folded \(foldedSoFar)/\(total) events")
            return result
        }
        progress?.finish()
        return folds
    }

    /// The tasks' outputs merged in event-time order, with the report; `deadLetters` (those of
    /// the reading) come before those the tasks refused, task by task.
    static func result(rules: RuleSet, tasks finished: [TaskFold], deadLetters: [DeadLetter], afterUntil: Int, watermark end: Millis)
        -> Result
    {
        let taskOutputs = finished.map(\.out)
        // Each task's outputs are in firing order; merge them by time, ties by task number.
        let triggers = Replay.mergeByTime(taskOutputs) {
            if case .trigger(let t) = $0 { return (t.firedAt, t) } else { return nil }
        }
        let conversions = Replay.mergeByTime(taskOutputs) {
            if case .conversion(let c) = $0 { return (c.convertedAt, c) } else { return nil }
        }
        let withheld = Replay.mergeByTime(taskOutputs) {
            if case .withheld(let t) = $0 { return (t.firedAt, t) } else { return nil }
        }
        let refused = finished.flatMap(\.refused)
        var counter = BacktestReport.Counter(rules: rules)
        for t in triggers { counter.count(.trigger(t)) }
        for c in conversions { counter.count(.conversion(c)) }
        for t in withheld { counter.count(.withheld(t)) }
        counter.countEvents(folded: finished.reduce(0) { $0 + $1.folded }, afterUntil: afterUntil)
        counter.countBadInputs(deadLetters.count + refused.count)
        return Result(
            triggers: triggers, conversions: conversions, withheld: withheld, deadLetters: deadLetters + refused,
            report: counter.report(tasks: finished.map(\.stats), watermark: end, lift: finished.map(\.lift)))
    }

    /// A stable merge of per-task streams by time (each already in time order), ties by task.
    static func mergeByTime<T>(_ streams: [[Output]], _ pick: (Output) -> (Millis, T)?) -> [T] {
        if streams.count == 1 { return streams[0].compactMap { pick($0)?.1 } }
        let lists = streams.map { $0.compactMap(pick) }
        var heads = [Int](repeating: 0, count: lists.count)
        var merged: [T] = []
        merged.reserveCapacity(lists.reduce(0) { $0 + $1.count })
        while true {
            var best = -1
            for k in lists.indices where heads[k] < lists[k].count {
                if best < 0 || lists[k][heads[k]].0 < lists[best][heads[best]].0 { best = k }
            }
            guard best >= 0 else { return merged }
            merged.append(lists[best][heads[best]].1)
            heads[best] += 1
        }
    }
}

extension CampaignTask {
    /// Folds an event read for a replay; one the fold refuses becomes its dead letter in
    /// `refused`. Returns whether the fold took the event.
    mutating func fold(_ e: SourcedEvent, into out: inout [Output], refused: inout [DeadLetter]) -> Bool {
        guard let refusal = apply(e.event, into: &out) else { return true }
        refused.append(e.deadLetter(refusal))
        return false
    }

    /// `fold`, and the number of the customer the event erased, if it did: known before the fold
    /// forgets it (what its timers fired before the erasure is still its own), and reported once
    /// no id finds it any more.
    mutating func foldNotingErasure(
        _ e: SourcedEvent, into out: inout [Output], refused: inout [DeadLetter]
    ) -> (folded: Bool, erased: Int?) {
        let erasing = e.event.isErasure ? customerNumber(e.event.customerId) : nil
        let folded = fold(e, into: &out, refused: &refused)
        guard let erasing, customerNumber(e.event.customerId) == nil else { return (folded, nil) }
        return (folded, erasing)
    }
}

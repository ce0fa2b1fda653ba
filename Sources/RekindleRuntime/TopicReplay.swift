import RekindleCore
import RekindleKafka

/// `rekindle replay --bootstrap`: folds a `TopicHistory` task by task (task `k` is partition `k`
/// of each input topic, merged by `TaskRunner` as live: by `occurred_at`, ties orders,
/// product-views, email-opens, then offset), with the messages checked as a live run checks them
/// (bad ones are dead letters naming topic, partition and offset), then merged and counted as a
/// file replay's tasks are (`Replay.result`). Each partition's events are first put in
/// `occurred_at` order, as a file replay sorts its input, so its output equals `replay
/// --partitions P` of the same events; a live run, reading as events come, may instead count a
/// re-delivered event as late (spec 4 allows that difference).
public struct TopicReplay {
    public var rules: RuleSet
    /// Events after this are not folded; event time advances to it at the end (default: the last
    /// event's time), as in a file replay.
    public var until: Millis?
    public var allowedLatenessMs: Millis = 0
    /// An event further ahead of its message's timestamp is a bad input, as live.
    public var maxFutureSkewMs = EventDecoder.defaultMaxFutureSkewMs

    public init(rules: RuleSet) { self.rules = rules }

    public func run(_ history: TopicHistory, progress: Progress? = nil) -> Replay.Result {
        let checked = history.ordered(maxFutureSkewMs: maxFutureSkewMs)
        var ordered = checked.tasks
        let end = until ?? checked.last
        var afterUntil = 0
        for k in ordered.indices {
            for t in ordered[k].indices {
                let before = ordered[k][t].count
                ordered[k][t].removeAll { if case .event(let e, _, _) = $0 { e.occurredAt > end } else { false } }
                afterUntil += before - ordered[k][t].count
            }
        }
        let total = ordered.reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } }
        let rules = rules, lateness = allowedLatenessMs, tasks = ordered
        let finished = Replay.foldTasks(history.partitions, total: total, progress: progress) { k in
            // The live merge over sorted partitions: by occurred_at, ties orders, product-views,
            // email-opens, then offset.
            let runner = TaskRunner(partition: Int32(k), rules: rules, allowedLatenessMs: lateness)
            for topic in Topic.allCases {
                runner.inputs[topic.rawValue].assigned = true
                runner.inputs[topic.rawValue].atEnd = true
                runner.inputs[topic.rawValue].append(contentsOf: tasks[k][topic.rawValue])
            }
            var fold = Replay.TaskFold(stats: runner.task.stats)
            var refused: [(DeadLetter, [UInt8]?, InputError.Kind)] = []
            var folded = 0
            runner.drain(into: &fold.out, deadLetters: &refused) { _ in folded += 1 }
            if end != Millis.min { runner.task.advance(to: end, into: &fold.out) }
            fold.folded = folded
            fold.refused = refused.map(\.0)
            (fold.stats, fold.lift) = (runner.task.stats, runner.task.lift)
            fold.events = tasks[k].reduce(0) { $0 + $1.count }
            return fold
        }
        return Replay.result(rules: rules, tasks: finished, deadLetters: checked.bad, afterUntil: afterUntil, watermark: end)
    }
}

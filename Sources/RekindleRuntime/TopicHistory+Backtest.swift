import RekindleCore

extension TopicHistory.Ordered {
    /// The history as the one stream a back-test folds (its fold routes customers to tasks by a
    /// partitioner): every event in `occurred_at` order, ties by task, then as the task merges them
    /// (topic, then offset), so each task folds exactly what `replay --bootstrap` folds; with the
    /// partitioner that puts every customer on the partition its events are on.
    func backtestStream() throws -> (events: [SourcedEvent], partitioner: Partitioner) {
        var keyed: [(at: Millis, task: Int, topic: Int, index: Int, event: Event)] = []
        for (k, task) in tasks.enumerated() {
            for (t, partition) in task.enumerated() {
                for (i, m) in partition.enumerated() {
                    if case .event(let e, _, _) = m { keyed.append((e.occurredAt, k, t, i, e)) }
                }
            }
        }
        keyed.sort { a, b in (a.at, a.task, a.topic, a.index) < (b.at, b.task, b.topic, b.index) }
        let count = tasks.count
        guard let partitioner = [Partitioner.murmur2, .crc32].first(where: { p in
            keyed.allSatisfy { p.partition($0.event.customerId, count: count) == $0.task }
        }) else {
            throw TopicReplayError(
                "backtest from topics needs each customer on the partition its key's partitioner gives (murmur2 or crc32), "
                    + "as `rekindle produce` and other Kafka clients put them; `replay --bootstrap` takes each partition as it is")
        }
        return (keyed.enumerated().map { SourcedEvent(event: $1.event, sequence: $0) }, partitioner)
    }
}

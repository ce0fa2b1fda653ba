import Foundation
import RekindleCore
import RekindleKafka

/// The history on the three input topics, read for `rekindle replay --bootstrap`: every partition
/// from its beginning (or from `--from` by the broker's time index) up to its end offset (high
/// watermark) taken when the read starts, so events produced meanwhile are not part of it. Read
/// with `assign`, outside any consumer group, committing nothing: a live group never notices.
public struct TopicHistory: Sendable {
    /// The topics' partition count: partition `k` of each input topic is task `k`.
    public var partitions: Int
    /// `messages[k][topic.rawValue]`: partition `k` of that input topic, in offset order.
    public var messages: [[[ConsumedMessage]]]

    public init(partitions: Int, messages: [[[ConsumedMessage]]]) {
        self.partitions = partitions
        self.messages = messages
    }

    /// Where and how to read.
    public struct Source: Sendable {
        public var bootstrap: String
        public var topics = TopicNames()
        /// librdkafka properties passed as-is (SASL, TLS, tuning), over Rekindle's own.
        public var kafka: [String: String] = [:]
        /// Start at the first message whose timestamp is at or after this instant (broker time,
        /// which Kafka indexes; not `occurred_at`).
        public var from: Millis?

        public init(bootstrap: String) { self.bootstrap = bootstrap }
    }

    /// Reads the history; `progress` shows messages read of those to read.
    public static func read(_ source: Source, progress: Progress? = nil) throws -> TopicHistory {
        // librdkafka polls a consumer only with a group.id; a fresh one, never joined (`assign`)
        // and never committed to, leaves no trace beside the live group.
        var props = [
            "bootstrap.servers": source.bootstrap, "group.id": "rekindle-replay-\(UUID().uuidString)", "fetch.wait.max.ms": "10",
            "enable.partition.eof": "true",
        ]
        props.merge(source.kafka) { _, user in user }
        props["enable.auto.commit"] = "false"
        let consumer = try Consumer(props, fromBeginning: true)
        defer { consumer.close() }
        let names = source.topics.inputs
        let partitions = try partitionCount(consumer, names)
        let all = names.flatMap { name in (0..<Int32(partitions)).map { TopicPartition(name, $0) } }
        var ends: [TopicPartition: Int64] = [:]
        for tp in all { ends[tp] = try consumer.queryWatermarks(tp).high }
        let starts = try startOffsets(consumer, all, from: source.from, ends: ends)

        var messages = [[[ConsumedMessage]]](repeating: [[], [], []], count: partitions)
        var low: [TopicPartition: Int64] = [:]
        for s in starts where s.offset >= 0 { low[s.topicPartition] = s.offset }
        for tp in all where low[tp] == nil { low[tp] = try consumer.queryWatermarks(tp).low }
        let total = all.reduce(Int64(0)) { $0 + max(0, ends[$1]! - low[$1]!) }
        var read = 0
        try consumer.read(starts, to: ends) { m in
            guard let topic = source.topics.input(named: m.topicPartition.topic) else { return }
            messages[Int(m.topicPartition.partition)][topic.rawValue].append(m)
            read += 1
            if read % 10_000 == 0 { progress?.update("read \(read)/\(total) messages") }
        }
        return TopicHistory(partitions: partitions, messages: messages)
    }

    /// The messages checked as a live run checks them, and each partition's events put in
    /// `occurred_at` order (ties in offset order), as a file replay sorts its input: the whole
    /// history is present, so none arrives late.
    public struct Ordered: Sendable {
        /// `tasks[k][topic.rawValue]`: the events of that partition, in order.
        var tasks: [[[InputMessage]]]
        /// Bad messages, by task, topic and offset.
        public var bad: [DeadLetter]
        /// The latest `occurred_at` of all (`Millis.min` when there is no event).
        public var last: Millis
    }

    func ordered(maxFutureSkewMs: Millis) -> Ordered {
        var result = Ordered(tasks: [], bad: [], last: Millis.min)
        for task in messages {
            result.tasks.append(Topic.allCases.map { topic in
                var events: [(at: Millis, message: InputMessage)] = []
                for m in task[topic.rawValue] {
                    let checked = InputMessage.validate(m, topic: topic, maxFutureSkewMs: maxFutureSkewMs)
                    switch checked {
                    case .event(let e, _, _):
                        events.append((e.occurredAt, checked))
                        result.last = max(result.last, e.occurredAt)
                    case .bad(let letter, _, _, _): result.bad.append(letter)
                    }
                }
                let sorted = zip(events, events.dropFirst()).allSatisfy { $0.at <= $1.at }
                return (sorted ? events : events.enumerated().sorted { a, b in
                    a.element.at != b.element.at ? a.element.at < b.element.at : a.offset < b.offset
                }.map(\.element)).map(\.message)
            })
        }
        return result
    }

    /// The partition count the three input topics share (they are co-partitioned, spec 5).
    static func partitionCount(_ consumer: Consumer, _ names: [String]) throws -> Int {
        let counts = try consumer.partitionCounts(names)
        var shared: Int?
        for name in names {
            guard let count = counts[name] ?? nil else {
                throw TopicReplayError("input topic \"\(name)\" does not exist on the broker")
            }
            if let shared, shared != count {
                let listed = names.map { "\($0): \((counts[$0] ?? nil) ?? 0)" }.joined(separator: ", ")
                throw TopicReplayError("the input topics must have the same number of partitions (task k is partition k of each), but \(listed)")
            }
            shared = count
        }
        return shared!
    }

    /// Each partition's first offset: the beginning, or with `from` the broker's offset for that
    /// time; a partition whose every message is older starts at its end. A broker that gives no
    /// offset for any partition that has messages has no time index for it (librdkafka's mock
    /// cluster, `rekindle broker`, gives none at all): that is an error, not a read from the start.
    static func startOffsets(_ consumer: Consumer, _ all: [TopicPartition], from: Millis?, ends: [TopicPartition: Int64])
        throws -> [TopicPartitionOffset]
    {
        guard let from else { return all.map(TopicPartitionOffset.beginning) }
        let found = try consumer.offsetsForTimes(all, time: from)
        let nonEmpty = all.filter { ends[$0]! > 0 }
        if !nonEmpty.isEmpty && nonEmpty.allSatisfy({ (found[$0] ?? nil) == nil }) {
            throw TopicReplayError(
                "--from \(Timestamp.format(from)): the broker gave no offsets for that time on any input partition "
                    + "(it keeps no time index, as librdkafka's mock cluster behind `rekindle broker` does not, "
                    + "or every message is older); replay without --from to read from the beginning")
        }
        return all.map { tp in TopicPartitionOffset(tp, offset: (found[tp] ?? nil) ?? ends[tp]!) }
    }
}

/// A replay from topics that cannot go as asked (a missing topic, topics not co-partitioned, no
/// offsets for `--from`): a usage problem, exit 2.
public struct TopicReplayError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

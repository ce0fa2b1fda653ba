import Foundation
import RekindleKafka

// The live loop (`LiveRunner`) is written once over what it talks to: a consumer-group member for
// its inputs, producers for its outputs, a reader of the output topics for recovery, a snapshot
// store and a clock. `rekindle run` gives it librdkafka (`KafkaTransport`, `SystemClock`);
// `rekindle simulate` gives it a simulated log, group, producers and clock, and so checks the very
// loop that runs in production, ordering and all.

/// The loop's input: a member of a consumer group. librdkafka's rebalance callbacks run inside
/// `poll`, and so must a simulation's.
public protocol InputConsumer: AnyObject {
    func subscribe(_ topics: [String]) throws(KafkaError)
    func poll(timeoutMs: Int32) -> ConsumerEvent?
    func commit(_ offsets: [TopicPartitionOffset], async: Bool) throws(KafkaError)
    /// The partition's end as last reported by a fetch, without asking the broker.
    func cachedHighWatermark(_ tp: TopicPartition) -> Int64?
    func queryWatermarks(_ tp: TopicPartition, timeoutMs: Int32) throws(KafkaError) -> (low: Int64, high: Int64)
    func partitionCounts(_ topics: [String], timeoutMs: Int32) throws(KafkaError) -> [String: Int?]
    /// Called before partitions are taken away in a rebalance (the owner flushes, commits and snapshots).
    var willRevoke: (([TopicPartition]) -> Void)? { get set }
    /// Called instead of `willRevoke` when the partitions were already given to another member
    /// (this one missed its session timeout): it must not commit or snapshot them.
    var assignmentLost: (([TopicPartition]) -> Void)? { get set }
    /// Chooses where newly assigned partitions start, before the assignment takes effect.
    var startOffsets: (([TopicPartition]) -> [TopicPartition: Int64])? { get set }
    /// Leaves the group (revoking what it holds first).
    func close()
}

/// The loop's outputs: a producer whose messages carry the ticket of the batch that made them,
/// with delivery reports counted per ticket, and transactions when it has a `transactional.id`.
public protocol OutputProducer: AnyObject {
    func produce(topic: String, key: [UInt8]?, value: [UInt8]?, partition: Int32?, ticket: Int) throws(KafkaError)
    /// Serves delivery reports, waiting at most `timeoutMs` for one.
    func poll(timeoutMs: Int32)
    /// Messages queued or in flight.
    var outstanding: Int { get }
    /// Messages of `ticket` not yet reported delivered.
    func pending(ticket: Int) -> Int
    /// The first delivery failure since the last call, if any.
    func takeFailure() -> KafkaError?
    /// Waits until every queued message is delivered; throws the first failure.
    func flush(timeoutMs: Int32) throws(KafkaError)
    func beginTransaction() throws(KafkaError)
    func commitTransaction(timeoutMs: Int32) throws(KafkaError)
    func abortTransaction(timeoutMs: Int32) throws(KafkaError)
    /// How this producer's transactions may overlap each other's and the loop.
    var transactionOverlap: TransactionOverlap { get }
}

/// How transactions of different producers may overlap each other's and the loop's work.
public enum TransactionOverlap: Sendable {
    /// One after another on the loop's thread, each waited for.
    case none
    /// Begins and commits each on a thread of its own, at once, and a round of commits runs while
    /// the loop goes on (librdkafka's: each call waits for its producer's thread and the broker).
    case threads
    /// A round of commits is put off until the loop waits for it, then run one after another on
    /// the loop's thread (the simulator's, whose log is stepped by one thread): one of the
    /// interleavings that `threads` allows, so a simulation checks the loop's handling of a
    /// round that ends after the loop went on. Begins are as `none`.
    case deferred
}

extension OutputProducer {
    public var transactionOverlap: TransactionOverlap { .none }
}

/// The loop's time: snapshot and transaction intervals, the idle wait, progress logs.
public protocol LiveClock: AnyObject {
    var now: ContinuousClock.Instant { get }
}

/// The process's monotonic clock.
public final class SystemClock: LiveClock {
    public init() {}
    public var now: ContinuousClock.Instant { .now }
}

/// How the loop reaches its topics.
public protocol LiveTransport {
    func makeConsumer(_ options: LiveOptions) throws -> any InputConsumer
    /// The producer of a run without transactions.
    func makeProducer(_ options: LiveOptions) throws -> any OutputProducer
    /// Task `task`'s transactional producer, its transactions initialised: making it fences every
    /// earlier producer of the task (a zombie's open transaction is aborted).
    func makeTransactionalProducer(_ options: LiveOptions, task: Int32) throws -> any OutputProducer
    /// The recovery read: output partitions from the given offsets to their current end.
    func readOutputs(_ starts: [(topic: String, kind: OutputLedger.OutputKind, partition: Int32, offset: Int64)],
                     options: LiveOptions) throws -> OutputLedger
}

/// librdkafka.
public struct KafkaTransport: LiveTransport {
    public init() {}

    public func makeConsumer(_ options: LiveOptions) throws -> any InputConsumer {
        try Consumer(options.consumerProperties, fromBeginning: true)
    }

    public func makeProducer(_ options: LiveOptions) throws -> any OutputProducer { try Producer(options.kafka) }

    public func makeTransactionalProducer(_ options: LiveOptions, task: Int32) throws -> any OutputProducer {
        var props = options.kafka
        props["transactional.id"] = "\(options.groupId)-task-\(task)"
        let p = try Producer(props)
        try p.initTransactions()
        return p
    }

    public func readOutputs(_ starts: [(topic: String, kind: OutputLedger.OutputKind, partition: Int32, offset: Int64)],
                            options: LiveOptions) throws -> OutputLedger {
        try OutputLedger.read(starts, kafka: options.kafka)
    }
}

extension Consumer: InputConsumer {}
extension Producer: OutputProducer {
    public var transactionOverlap: TransactionOverlap { .threads }
}

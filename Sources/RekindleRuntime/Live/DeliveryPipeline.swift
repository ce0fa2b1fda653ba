import DequeModule
import Foundation
import RekindleCore
import RekindleKafka

/// Outputs on their way to Kafka, batch by batch, so that the loop folds batch n+1 while batch n
/// is being delivered (issue 11). A batch is done when every message produced with its ticket is
/// reported delivered; batches complete in order, so the input positions of the newest done batch
/// are the furthest the group may be told, and a snapshot is taken only after `drain()`.
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
    }

    let producer: Producer
    let maxBatches: Int
    let maxMessages: Int
    private let metrics: RekindleMetrics?
    private var inFlight = Deque<Batch>()
    private var nextTicket = 1
    /// Input positions all of whose outputs are delivered (those of the newest done batch).
    private(set) var delivered: [TopicPartitionOffset] = []
    /// When a batch last completed with outputs in it: the end of a catch-up, for the summary.
    private(set) var lastDelivery: ContinuousClock.Instant?

    init(producer: Producer, metrics: RekindleMetrics?, maxBatches: Int = 16, maxMessages: Int = 200_000) {
        self.producer = producer
        self.metrics = metrics
        self.maxBatches = maxBatches
        self.maxMessages = maxMessages
    }

    /// Batches not yet all delivered.
    var batchesInFlight: Int { inFlight.count }

    /// Produces one batch's messages (none: outputs already delivered, e.g. by a committed
    /// transaction) and remembers the input positions they complete. Throws the first delivery
    /// failure seen since the last call.
    func send(_ messages: [Message], positions: [TopicPartitionOffset], firedAt: [Millis]) throws {
        let ticket = nextTicket
        nextTicket += 1
        for m in messages { try producer.produce(topic: m.topic, key: m.key, value: m.value, ticket: ticket) }
        inFlight.append(Batch(ticket: ticket, positions: positions, firedAt: firedAt, messages: messages.count))
        producer.poll()
        try settle()
        while inFlight.count > maxBatches || producer.outstanding > maxMessages {
            producer.poll(timeoutMs: 5)
            try settle()
        }
    }

    /// Takes the done batches off the front. Throws a delivery failure: the loop stops, and a
    /// restart recovers from the last snapshot (nothing past a failed batch is committed).
    func settle() throws {
        if let failure = producer.takeFailure() { throw failure }
        var completedWithOutputs = false
        while let first = inFlight.first, producer.pending(ticket: first.ticket) == 0 {
            inFlight.removeFirst()
            delivered = first.positions
            if let metrics, !first.firedAt.isEmpty {
                let deliveredMs = Millis(Date().timeIntervalSince1970 * 1000)
                for f in first.firedAt { metrics.triggerDelivered(delaySeconds: Double(deliveredMs - f) / 1000) }
            }
            completedWithOutputs = completedWithOutputs || first.messages > 0
        }
        if completedWithOutputs { lastDelivery = .now }
    }

    /// Waits until everything produced is delivered: before a snapshot, a revocation or the end.
    func drain() throws {
        try producer.flush()
        try settle()
        if !inFlight.isEmpty {
            throw LiveError("\(inFlight.count) output batches still undelivered after a flush (the delivery reports were not all counted)")
        }
    }
}

import CRdKafka
import Foundation
import RekindleCore
import RekindleKafka
import Synchronization
@testable import RekindleRuntime
import Testing

/// The live loop's outputs in flight (issue 11): it folds the next batch while this one is being
/// delivered, but never lets the group or a snapshot get ahead of what is delivered, and never
/// holds more than its bound.
@Suite(.serialized) struct DeliveryPipelineTests {
    static func position(_ offset: Int64) -> [TopicPartitionOffset] {
        [TopicPartitionOffset(TopicPartition("orders", 0), offset: offset)]
    }

    static func batch(_ n: Int) -> [(task: Int32, messages: [DeliveryPipeline.Message])] {
        [(0, (0..<n).map { DeliveryPipeline.Message(topic: "out", key: Array("c\($0)".utf8), value: Array("{\"n\":\($0)}".utf8)) })]
    }

    @Test func positionsAdvanceOnlyOnceTheirBatchIsDeliveredAndInOrder() throws {
        let cluster = try MockCluster()
        try cluster.createTopic("out", partitions: 2)
        try cluster.setRoundTrip(milliseconds: 300)
        let producer = try Producer(["bootstrap.servers": cluster.bootstrapServers, "linger.ms": "0"])
        let pipeline = DeliveryPipeline(producer: producer, metrics: nil)
        try pipeline.send(Self.batch(10), positions: Self.position(10), firedAt: [])
        try pipeline.send([], positions: Self.position(12), firedAt: [])  // a batch with no outputs
        // 300 ms per request: the first batch is not delivered yet, so neither position counts,
        // though the second batch had nothing to deliver.
        #expect(pipeline.delivered.isEmpty)
        #expect(pipeline.batchesInFlight == 2)
        try pipeline.drain()
        #expect(pipeline.delivered == Self.position(12))
        #expect(pipeline.batchesInFlight == 0)
        #expect(producer.delivered == 10)
    }

    @Test func aStalledOutputTopicHoldsTheLoopAtItsBoundAndFailsLoudly() throws {
        let cluster = try MockCluster()
        try cluster.createTopic("out", partitions: 1)
        let producer = try Producer(["bootstrap.servers": cluster.bootstrapServers, "linger.ms": "0", "message.timeout.ms": "1500"])
        let pipeline = DeliveryPipeline(producer: producer, metrics: nil, maxBatches: 2)
        try pipeline.send(Self.batch(1), positions: Self.position(1), firedAt: [])
        try pipeline.drain()
        try cluster.setBrokersDown(true)
        // Two batches may wait; the third send waits for deliveries that cannot come, until
        // librdkafka gives up on them, and the failure reaches the loop instead of a growing queue.
        try pipeline.send(Self.batch(5), positions: Self.position(2), firedAt: [])
        try pipeline.send(Self.batch(5), positions: Self.position(3), firedAt: [])
        #expect(pipeline.batchesInFlight == 2)
        let started = ContinuousClock.now
        #expect(throws: KafkaError.self) { try pipeline.send(Self.batch(5), positions: Self.position(4), firedAt: []) }
        #expect(started.duration(to: .now) >= .milliseconds(500), "the third send waited for the stalled deliveries")
        #expect(pipeline.delivered == Self.position(1), "nothing undelivered is claimed")
    }

    @Test func aFailedDeliveryStopsThePositionsAtTheLastDeliveredBatch() throws {
        let cluster = try MockCluster()
        try cluster.createTopic("out", partitions: 1)
        let producer = try Producer(["bootstrap.servers": cluster.bootstrapServers, "linger.ms": "0", "retries": "0",
                                     "enable.idempotence": "false"])
        let pipeline = DeliveryPipeline(producer: producer, metrics: nil)
        try pipeline.send(Self.batch(3), positions: Self.position(3), firedAt: [])
        try pipeline.drain()
        cluster.failNextProduceRequests([RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED])
        // The failure surfaces at the send that sees its report, or at the latest at the drain.
        #expect(throws: KafkaError.self) {
            try pipeline.send(Self.batch(3), positions: Self.position(6), firedAt: [])
            try pipeline.drain()
        }
        #expect(pipeline.delivered == Self.position(3))
    }

    @Test func withTransactionsABatchCountsOnlyOnceItsTransactionsCommit() throws {
        let cluster = try MockCluster()
        try cluster.createTopic("out", partitions: 2)
        let bootstrap = cluster.bootstrapServers
        let producer = try Producer(["bootstrap.servers": bootstrap])
        let made = Mutex<[Int32]>([])
        let pipeline = DeliveryPipeline(producer: producer, metrics: nil, transactional: { k in
            made.withLock { $0.append(k) }
            let p = try Producer(["bootstrap.servers": bootstrap, "transactional.id": "pipeline-test-\(k)"])
            try p.initTransactions()
            return p
        }, transactionInterval: .seconds(3600))
        try pipeline.send(Self.batch(4) + [(7, Self.batch(2)[0].messages)], positions: Self.position(4), firedAt: [])
        try pipeline.send(Self.batch(1), positions: Self.position(5), firedAt: [])
        // Delivered to the broker, perhaps, but inside open transactions: not yet to be claimed.
        for _ in 0..<20 { try pipeline.settle() }
        #expect(pipeline.delivered.isEmpty)
        try pipeline.drain()
        #expect(pipeline.delivered == Self.position(5))
        #expect(made.withLock { $0 } == [0, 7], "one transactional producer per task, made once")
    }

    /// A transactional producer that only records its calls, delivering everything at once; one
    /// whose commits fail. Like librdkafka's, it lets transactions run concurrently.
    final class RecordingProducer: OutputProducer, @unchecked Sendable {
        let failsCommit: Bool
        let calls = Mutex<[String]>([])
        /// When set, a commit waits (at most ten seconds) for the test to open it.
        let gate: DispatchSemaphore?
        let transactionOverlap: TransactionOverlap
        init(failsCommit: Bool = false, gate: DispatchSemaphore? = nil, overlap: TransactionOverlap = .threads) {
            (self.failsCommit, self.gate, transactionOverlap) = (failsCommit, gate, overlap)
        }
        func produce(topic: String, key: [UInt8]?, value: [UInt8]?, partition: Int32?, ticket: Int) throws(KafkaError) {
            calls.withLock { $0.append("produce") }
        }
        func poll(timeoutMs: Int32) {}
        var outstanding: Int { 0 }
        func pending(ticket: Int) -> Int { 0 }
        func takeFailure() -> KafkaError? { nil }
        func flush(timeoutMs: Int32) throws(KafkaError) {}
        func beginTransaction() throws(KafkaError) { calls.withLock { $0.append("begin") } }
        func commitTransaction(timeoutMs: Int32) throws(KafkaError) {
            if let gate, gate.wait(timeout: .now() + 10) == .timedOut { calls.withLock { $0.append("commit waited for the loop") } }
            if failsCommit { throw KafkaError(code: -1, message: "commit refused") }
            calls.withLock { $0.append("commit") }
        }
        func abortTransaction(timeoutMs: Int32) throws(KafkaError) { calls.withLock { $0.append("abort") } }
    }

    @Test func concurrentCommitsCommitEveryTaskThatCanAndAbortTheOneThatFailedAndClaimNothing() throws {
        let producers: [Int32: RecordingProducer] = [0: RecordingProducer(), 1: RecordingProducer(failsCommit: true), 2: RecordingProducer()]
        let pipeline = DeliveryPipeline(producer: RecordingProducer(), metrics: nil, transactional: { k in producers[k]! },
                                        transactionInterval: .seconds(3600))
        let messages = Self.batch(2)[0].messages
        try pipeline.send([(0, messages), (1, messages), (2, messages)], positions: Self.position(6), firedAt: [])
        for k: Int32 in [0, 1, 2] { #expect(producers[k]!.calls.withLock { $0 } == ["begin", "produce", "produce"]) }
        #expect(throws: KafkaError.self) { try pipeline.drain() }
        #expect(producers[0]!.calls.withLock { $0.last } == "commit")
        #expect(producers[2]!.calls.withLock { $0.last } == "commit")
        #expect(producers[1]!.calls.withLock { $0.last } == "abort")
        #expect(pipeline.delivered.isEmpty, "a batch whose transactions did not all commit is never claimed")
    }

    /// The round of commits runs while the loop goes on (it folds the next batch meanwhile): a
    /// send that starts a round returns at once, its batch is claimed only after every commit of
    /// the round returned, and the next send waits for the round before it begins transactions.
    /// (With a send that waited for its commits, each commit here would wait its ten seconds for
    /// the gate, and say so.)
    @Test func aRoundOfCommitsRunsWhileTheLoopGoesOnAndItsBatchCountsOnlyOnceItEnded() throws {
        let gate = DispatchSemaphore(value: 0)
        let producers: [Int32: RecordingProducer] = [0: RecordingProducer(gate: gate), 1: RecordingProducer(gate: gate)]
        let pipeline = DeliveryPipeline(producer: RecordingProducer(), metrics: nil, transactional: { k in producers[k]! },
                                        transactionInterval: .zero)
        let messages = Self.batch(1)[0].messages
        try pipeline.send([(0, messages), (1, messages)], positions: Self.position(2), firedAt: [])
        try pipeline.settle()
        #expect(pipeline.delivered.isEmpty, "its transactions are still committing")
        gate.signal()
        gate.signal()
        try pipeline.send([(0, messages)], positions: Self.position(3), firedAt: [])
        for k: Int32 in [0, 1] { #expect(producers[k]!.calls.withLock { Array($0.prefix(3)) } == ["begin", "produce", "commit"]) }
        #expect(producers[0]!.calls.withLock { $0.dropFirst(3).first } == "begin", "the next transaction begins after the commit")
        #expect(pipeline.delivered == Self.position(2))
        gate.signal()
        try pipeline.drain()
        #expect(pipeline.delivered == Self.position(3))
        for k: Int32 in [0, 1] { #expect(!producers[k]!.calls.withLock { $0.contains("commit waited for the loop") }) }
    }

    /// A commit of a round running beside the loop fails: the loop learns it at its next send,
    /// which throws; the failed transaction is aborted and nothing of the round is claimed.
    @Test func aFailedCommitOfARoundRunningBesideTheLoopStopsItAtTheNextSendAndClaimsNothing() throws {
        let producers: [Int32: RecordingProducer] = [0: RecordingProducer(), 1: RecordingProducer(failsCommit: true)]
        let pipeline = DeliveryPipeline(producer: RecordingProducer(), metrics: nil, transactional: { k in producers[k]! },
                                        transactionInterval: .zero)
        let messages = Self.batch(1)[0].messages
        try pipeline.send([(0, messages), (1, messages)], positions: Self.position(2), firedAt: [])
        #expect(throws: KafkaError.self) { try pipeline.send([(0, messages)], positions: Self.position(3), firedAt: []) }
        #expect(producers[1]!.calls.withLock { $0.last } == "abort")
        #expect(producers[0]!.calls.withLock { $0 } == ["begin", "produce", "commit"], "nothing more was produced")
        #expect(pipeline.delivered.isEmpty)
        #expect(throws: KafkaError.self) { try pipeline.drain() }
    }

    /// The simulator's producers put a round of commits off until the loop waits for it (one of
    /// the interleavings threads allow, on the simulation's one thread): nothing is committed
    /// when the send that started the round returns; the next send commits first, then begins.
    @Test func aDeferredRoundCommitsOnlyWhenTheLoopWaitsForIt() throws {
        let producers: [Int32: RecordingProducer] = [0: RecordingProducer(overlap: .deferred), 1: RecordingProducer(overlap: .deferred)]
        let pipeline = DeliveryPipeline(producer: RecordingProducer(overlap: .deferred), metrics: nil,
                                        transactional: { k in producers[k]! }, transactionInterval: .zero)
        let messages = Self.batch(1)[0].messages
        try pipeline.send([(0, messages), (1, messages)], positions: Self.position(2), firedAt: [])
        try pipeline.settle()
        for k: Int32 in [0, 1] { #expect(producers[k]!.calls.withLock { $0 } == ["begin", "produce"]) }
        #expect(pipeline.delivered.isEmpty)
        try pipeline.send([(1, messages)], positions: Self.position(3), firedAt: [])
        #expect(producers[0]!.calls.withLock { $0 } == ["begin", "produce", "commit"])
        #expect(producers[1]!.calls.withLock { Array($0.prefix(4)) } == ["begin", "produce", "commit", "begin"])
        #expect(pipeline.delivered == Self.position(2))
    }
}

import CRdKafka
import Synchronization

/// Counts delivery reports; librdkafka calls back on its own thread, so state is locked.
final class DeliveryReports: Sendable {
    struct State {
        var delivered = 0
        var failed = 0
        var firstError: KafkaError?
        /// Messages not yet reported, by the ticket they were produced with (0: untracked).
        var pending: [Int: Int] = [:]
    }
    let state = Mutex(State())
}

/// An idempotent producer with delivery reports. `flush()` returns once every message is
/// delivered, or throws the first delivery error.
public final class Producer: @unchecked Sendable {
    private let rk: OpaquePointer
    private let reports: DeliveryReports
    private let topics = Mutex<[String: OpaquePointer]>([:])

    /// `properties` go to librdkafka as-is; idempotence and the Java-compatible partitioner
    /// are the defaults here, and the caller's properties win.
    public init(_ properties: [String: String]) throws(KafkaError) {
        var props = ["enable.idempotence": "true", "partitioner": "murmur2_random", "linger.ms": "5"]
        props.merge(properties) { _, new in new }
        let conf = try KafkaConfiguration.make(props)
        let reports = DeliveryReports()
        self.reports = reports
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(reports).toOpaque())
        rd_kafka_conf_set_dr_msg_cb(conf, deliveryCallback)
        rk = try KafkaConfiguration.newClient(RD_KAFKA_PRODUCER, conf)
    }

    private func topic(_ name: String) -> OpaquePointer {
        topics.withLock { t in
            if let h = t[name] { return h }
            let h = rd_kafka_topic_new(rk, name, nil)!
            t[name] = h
            return h
        }
    }

    /// Queues one message; `partition` nil lets the configured partitioner choose from the key.
    /// A nil value is a tombstone (deletes the key from a compacted topic).
    ///
    /// A `ticket` (> 0) groups messages: `pending(ticket:)` counts those of it not yet reported
    /// delivered or failed, so a caller can tell when one batch of its outputs is all out without
    /// waiting for everything produced since.
    public func produce(topic name: String, key: [UInt8]?, value: [UInt8]?, partition: Int32? = nil, ticket: Int = 0) throws(KafkaError) {
        let t = topic(name)
        // Counted before the call: the report may come on librdkafka's thread before it returns.
        if ticket > 0 { reports.state.withLock { $0.pending[ticket, default: 0] += 1 } }
        let opaque = UnsafeMutableRawPointer(bitPattern: ticket)
        while true {
            let r = withOptionalBytes(value) { v in
                withOptionalBytes(key) { k in
                    rd_kafka_produce(
                        t, partition ?? rekindle_partition_ua, rekindle_msg_f_copy,
                        v.map { UnsafeMutableRawPointer(mutating: $0.baseAddress) } ?? nil, v?.count ?? 0,
                        k?.baseAddress, k?.count ?? 0, opaque)
                }
            }
            if r == 0 { return }
            let err = rd_kafka_last_error()
            if err == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                rd_kafka_poll(rk, 10)  // serve delivery reports to make room
                continue
            }
            if ticket > 0 { reports.state.withLock { $0.pending[ticket]! -= 1 } }
            throw KafkaError(err, "produce to \(name)")
        }
    }

    // MARK: Transactions (a producer made with a `transactional.id`)

    private static func check(_ error: OpaquePointer?, _ context: String) throws(KafkaError) {
        guard let error else { return }
        let e = KafkaError(code: rd_kafka_error_code(error).rawValue, message: "\(context): \(String(cString: rd_kafka_error_string(error)))")
        rd_kafka_error_destroy(error)
        throw e
    }

    /// Registers the `transactional.id` with the cluster, fencing any older producer with the same
    /// id (a zombie of a moved or restarted task).
    public func initTransactions(timeoutMs: Int32 = 30_000) throws(KafkaError) {
        try Self.check(rd_kafka_init_transactions(rk, timeoutMs), "init transactions")
    }

    public func beginTransaction() throws(KafkaError) {
        try Self.check(rd_kafka_begin_transaction(rk), "begin transaction")
    }

    /// Flushes and commits: read_committed readers see all of the transaction's messages or none.
    public func commitTransaction(timeoutMs: Int32 = 30_000) throws(KafkaError) {
        try Self.check(rd_kafka_commit_transaction(rk, timeoutMs), "commit transaction")
    }

    public func abortTransaction(timeoutMs: Int32 = 30_000) throws(KafkaError) {
        try Self.check(rd_kafka_abort_transaction(rk, timeoutMs), "abort transaction")
    }

    /// Serves delivery reports.
    public func poll(timeoutMs: Int32 = 0) { rd_kafka_poll(rk, timeoutMs) }

    /// Messages queued or in flight.
    public var outstanding: Int { Int(rd_kafka_outq_len(rk)) }

    public var delivered: Int { reports.state.withLock { $0.delivered } }

    /// Messages of `ticket` not yet reported (reports are served by `poll` and `flush`); a ticket
    /// seen at 0 is forgotten.
    public func pending(ticket: Int) -> Int {
        reports.state.withLock { s in
            let n = s.pending[ticket] ?? 0
            if n == 0 { s.pending[ticket] = nil }
            return n
        }
    }

    /// The first delivery failure since the last call (or `flush`), if any; clears it.
    public func takeFailure() -> KafkaError? {
        reports.state.withLock { s in
            defer { s.firstError = nil; s.failed = 0 }
            return s.firstError
        }
    }

    /// Waits until every queued message is delivered; throws the first delivery failure.
    public func flush(timeoutMs: Int32 = 30_000) throws(KafkaError) {
        let err = rd_kafka_flush(rk, timeoutMs)
        if let failure = takeFailure() { throw failure }
        try KafkaError.check(err, "flush")
    }

    deinit {
        _ = rd_kafka_flush(rk, 5_000)
        topics.withLock { t in for (_, h) in t { rd_kafka_topic_destroy(h) } }
        rd_kafka_destroy(rk)
    }
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}

/// Defined at file scope: a C callback must capture nothing and must not be main-actor isolated.
private let deliveryCallback: @convention(c) (
    OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?
) -> Void = { _, message, opaque in
    guard let opaque, let message else { return }
    let reports = Unmanaged<DeliveryReports>.fromOpaque(opaque).takeUnretainedValue()
    let err = message.pointee.err
    let ticket = Int(bitPattern: message.pointee._private)
    reports.state.withLock { s in
        if ticket > 0 { s.pending[ticket, default: 0] -= 1 }
        if err == RD_KAFKA_RESP_ERR_NO_ERROR {
            s.delivered += 1
        } else {
            s.failed += 1
            if s.firstError == nil { s.firstError = KafkaError(err, "delivery") }
        }
    }
}

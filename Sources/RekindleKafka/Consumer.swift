import CRdKafka
import Synchronization

/// One message read from a partition, copied out of librdkafka's buffers.
public struct ConsumedMessage: Sendable {
    public var topicPartition: TopicPartition
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    /// CreateTime or LogAppendTime in ms, if the message has one.
    public var timestamp: Int64?
    /// The value was null (a tombstone), not empty: `value` is then `[]`.
    public var valueIsNull: Bool

    public init(
        topicPartition: TopicPartition, offset: Int64, key: [UInt8]?, value: [UInt8], timestamp: Int64?,
        valueIsNull: Bool = false
    ) {
        self.topicPartition = topicPartition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.valueIsNull = valueIsNull
    }
}

public enum ConsumerEvent: Sendable {
    case message(ConsumedMessage)
    /// The partition has been read to its end (`offset` is the next offset).
    case endOfPartition(TopicPartition, offset: Int64)
    case assigned([TopicPartition])
    case revoked([TopicPartition])
    case error(KafkaError)
}

/// State shared with the rebalance callback, which librdkafka calls on the polling thread.
final class RebalanceBox: @unchecked Sendable {
    var pending: [ConsumerEvent] = []
    let fromBeginning: Bool
    /// Called before partitions are taken away, so the owner can flush and commit first.
    var willRevoke: (([TopicPartition]) -> Void)?
    /// Called instead of `willRevoke` when the assignment was lost (the group moved the partitions
    /// on after this member missed its session timeout).
    var assignmentLost: (([TopicPartition]) -> Void)?
    /// Where to start reading newly assigned partitions (absent: the beginning, or the group's
    /// committed offset when not `fromBeginning`).
    var startOffsets: (([TopicPartition]) -> [TopicPartition: Int64])?
    init(fromBeginning: Bool) { self.fromBeginning = fromBeginning }
}

/// A group consumer with manual commits, partition-EOF events and a revocation hook. Not
/// thread-safe: one thread polls it (librdkafka's rebalance callback runs inside `poll`).
public final class Consumer: @unchecked Sendable {
    private let rk: OpaquePointer
    private let box: RebalanceBox
    private var closed = false

    /// `fromBeginning`: every assigned partition is read from its first offset, ignoring the
    /// group's committed offsets (state is rebuilt by re-folding).
    public init(_ properties: [String: String], fromBeginning: Bool) throws(KafkaError) {
        var props = [
            "enable.auto.commit": "false", "enable.partition.eof": "true", "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "range",
        ]
        props.merge(properties) { _, new in new }
        let conf = try KafkaConfiguration.make(props)
        box = RebalanceBox(fromBeginning: fromBeginning)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(box).toOpaque())
        rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback)
        rk = try KafkaConfiguration.newClient(RD_KAFKA_CONSUMER, conf)
        rd_kafka_poll_set_consumer(rk)
    }

    public var willRevoke: (([TopicPartition]) -> Void)? {
        get { box.willRevoke }
        set { box.willRevoke = newValue }
    }

    /// Called, instead of `willRevoke`, when partitions are revoked because they were already given
    /// to another member (this one missed its session timeout: a paused process, a zombie). Their
    /// new owner may have moved on, so nothing of theirs may be committed or snapshotted here.
    /// Unset: `willRevoke` is called.
    public var assignmentLost: (([TopicPartition]) -> Void)? {
        get { box.assignmentLost }
        set { box.assignmentLost = newValue }
    }

    /// Chooses the start offset of each newly assigned partition (e.g. from a snapshot); runs on
    /// the polling thread before the assignment takes effect.
    public var startOffsets: (([TopicPartition]) -> [TopicPartition: Int64])? {
        get { box.startOffsets }
        set { box.startOffsets = newValue }
    }

    public func subscribe(_ topics: [String]) throws(KafkaError) {
        let list = TopicPartition.list(topics.map { TopicPartitionOffset(TopicPartition($0, -1), offset: rekindle_offset_invalid) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try KafkaError.check(rd_kafka_subscribe(rk, list), "subscribe")
    }

    /// Reads these partitions from their beginning without joining a group (no rebalance wait).
    public func assign(_ partitions: [TopicPartition]) throws(KafkaError) {
        try assign(partitions.map { TopicPartitionOffset($0, offset: rekindle_offset_beginning) })
    }

    /// Reads these partitions from the given offsets without joining a group.
    public func assign(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        let list = TopicPartition.list(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try KafkaError.check(rd_kafka_assign(rk, list), "assign")
    }

    /// Reads each partition from the given offset to its current end (queried first), calling
    /// `body` for every message; partitions already at their end are skipped. Fails when no
    /// message came for `timeoutSeconds` (a long read that keeps moving goes on).
    public func readToEnd(_ starts: [TopicPartitionOffset], timeoutSeconds: Double = 120,
                          _ body: (ConsumedMessage) -> Void) throws(KafkaError) {
        var ends: [TopicPartition: Int64] = [:]
        for s in starts { ends[s.topicPartition] = try queryWatermarks(s.topicPartition).high }
        try read(starts, to: ends, stallSeconds: timeoutSeconds, body)
    }

    /// Reads each partition from its start offset up to (not including) its offset in `ends`,
    /// calling `body` for every message; partitions with nothing before their end are skipped.
    /// Fails when no message came for `stallSeconds`.
    public func read(_ starts: [TopicPartitionOffset], to ends: [TopicPartition: Int64], stallSeconds: Double = 120,
                     _ body: (ConsumedMessage) -> Void) throws(KafkaError) {
        var ends = ends
        var assign: [TopicPartitionOffset] = []
        for s in starts {
            if let high = ends[s.topicPartition], high > s.offset, high > 0 {
                assign.append(s)
            } else {
                ends[s.topicPartition] = nil
            }
        }
        guard !assign.isEmpty else { return }
        try self.assign(assign)
        let stall = Duration.milliseconds(Int64(stallSeconds * 1000))
        var deadline = ContinuousClock.now.advanced(by: stall)
        while !ends.isEmpty {
            guard ContinuousClock.now < deadline else {
                throw KafkaError(code: -1, message: "did not reach the end of \(ends.keys.map(\.description).sorted())")
            }
            switch poll(timeoutMs: 100) {
            case .message(let m)?:
                deadline = ContinuousClock.now.advanced(by: stall)
                guard let end = ends[m.topicPartition] else { continue }
                // Past the end (offsets may skip: compaction, transaction markers): done.
                guard m.offset < end else {
                    ends[m.topicPartition] = nil
                    continue
                }
                body(m)
                if m.offset + 1 >= end { ends[m.topicPartition] = nil }
            case .endOfPartition(let tp, let offset)?:
                if let end = ends[tp], offset >= end { ends[tp] = nil }
            case .error(let e)?: throw e
            default: break
            }
        }
    }

    /// The next event, or nil if nothing came within `timeoutMs`.
    public func poll(timeoutMs: Int32) -> ConsumerEvent? {
        if !box.pending.isEmpty { return box.pending.removeFirst() }
        let m = rd_kafka_consumer_poll(rk, timeoutMs)
        if !box.pending.isEmpty {
            // The poll served a rebalance; report it before the message it may have returned.
            if let m { box.pending.append(Consumer.event(m)); rd_kafka_message_destroy(m) }
            return box.pending.removeFirst()
        }
        guard let m else { return nil }
        defer { rd_kafka_message_destroy(m) }
        return Consumer.event(m)
    }

    static func event(_ m: UnsafeMutablePointer<rd_kafka_message_t>) -> ConsumerEvent {
        let msg = m.pointee
        let topic = msg.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let tp = TopicPartition(topic, msg.partition)
        if msg.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return .endOfPartition(tp, offset: msg.offset) }
        if msg.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let detail = msg.payload.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: msg.len), as: UTF8.self) }
            return .error(KafkaError(msg.err, detail ?? topic))
        }
        let value = msg.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.len)) } ?? []
        let key = msg.key.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.key_len)) }
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let ts = rd_kafka_message_timestamp(m, &type)
        return .message(ConsumedMessage(
            topicPartition: tp, offset: msg.offset, key: key, value: value,
            timestamp: type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : ts, valueIsNull: msg.payload == nil))
    }

    /// Commits the given next-offsets.
    /// `async`: returns at once (a failure is not reported; the next commit carries the offsets
    /// again). Otherwise waits for the broker's answer.
    public func commit(_ offsets: [TopicPartitionOffset], async: Bool = false) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = TopicPartition.list(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try KafkaError.check(rd_kafka_commit(rk, list, async ? 1 : 0), "commit")
    }

    /// The group's committed offsets for these partitions (-1001 where none).
    public func committed(_ partitions: [TopicPartition], timeoutMs: Int32 = 5_000) throws(KafkaError) -> [TopicPartitionOffset] {
        let list = TopicPartition.list(partitions.map { TopicPartitionOffset($0, offset: rekindle_offset_invalid) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try KafkaError.check(rd_kafka_committed(rk, list, timeoutMs), "committed")
        return TopicPartition.read(list)
    }

    /// The high watermark (end offset) librdkafka last saw for the partition, without a request.
    public func cachedHighWatermark(_ tp: TopicPartition) -> Int64? {
        var low: Int64 = -1, high: Int64 = -1
        let err = rd_kafka_get_watermark_offsets(rk, tp.topic, tp.partition, &low, &high)
        return err == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 ? high : nil
    }

    /// Asks the broker for the partition's low and high watermarks.
    public func queryWatermarks(_ tp: TopicPartition, timeoutMs: Int32 = 5_000) throws(KafkaError) -> (low: Int64, high: Int64) {
        var low: Int64 = -1, high: Int64 = -1
        try KafkaError.check(rd_kafka_query_watermark_offsets(rk, tp.topic, tp.partition, &low, &high, timeoutMs), "watermarks \(tp)")
        return (low, high)
    }

    /// For each partition, the first offset whose message timestamp is at or after `time` (ms since
    /// the epoch), as the broker's time index gives it: nil where the broker gave none (every
    /// message is older, or the broker keeps no time index: librdkafka's mock cluster).
    public func offsetsForTimes(_ partitions: [TopicPartition], time: Int64, timeoutMs: Int32 = 10_000)
        throws(KafkaError) -> [TopicPartition: Int64?]
    {
        let list = TopicPartition.list(partitions.map { TopicPartitionOffset($0, offset: time) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try KafkaError.check(rd_kafka_offsets_for_times(rk, list, timeoutMs), "offsets for times")
        var found: [TopicPartition: Int64?] = [:]
        for i in 0..<Int(list.pointee.cnt) {
            let e = list.pointee.elems[i]
            let tp = TopicPartition(String(cString: e.topic), e.partition)
            try KafkaError.check(e.err, "offsets for times \(tp)")
            found[tp] = .some(e.offset >= 0 ? e.offset : nil)
        }
        return found
    }

    /// Partition counts of the named topics from the cluster's metadata (nil for a topic the
    /// cluster does not have).
    public func partitionCounts(_ topics: [String], timeoutMs: Int32 = 10_000) throws(KafkaError) -> [String: Int?] {
        var md: UnsafePointer<rd_kafka_metadata>?
        try KafkaError.check(rd_kafka_metadata(rk, 1, nil, &md, timeoutMs), "metadata")
        defer { rd_kafka_metadata_destroy(md) }
        var counts: [String: Int?] = [:]
        for t in topics { counts[t] = .some(nil) }
        guard let m = md?.pointee else { return counts }
        for i in 0..<Int(m.topic_cnt) {
            let t = m.topics[i]
            let name = String(cString: t.topic)
            if counts.keys.contains(name), t.err == RD_KAFKA_RESP_ERR_NO_ERROR { counts[name] = Int(t.partition_cnt) }
        }
        return counts
    }

    public func pause(_ partitions: [TopicPartition]) throws(KafkaError) {
        let list = TopicPartition.list(partitions.map { TopicPartitionOffset($0, offset: rekindle_offset_invalid) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try KafkaError.check(rd_kafka_pause_partitions(rk, list), "pause")
    }

    public func resume(_ partitions: [TopicPartition]) throws(KafkaError) {
        let list = TopicPartition.list(partitions.map { TopicPartitionOffset($0, offset: rekindle_offset_invalid) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try KafkaError.check(rd_kafka_resume_partitions(rk, list), "resume")
    }

    /// Leaves the group (revocation runs through `willRevoke`) and releases the client.
    public func close() {
        guard !closed else { return }
        closed = true
        _ = rd_kafka_consumer_close(rk)
        rd_kafka_destroy(rk)
    }

    deinit { close() }
}

private let rebalanceCallback: @convention(c) (
    OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?
) -> Void = { rk, err, partitions, opaque in
    guard let rk, let opaque else { return }
    let box = Unmanaged<RebalanceBox>.fromOpaque(opaque).takeUnretainedValue()
    let list = TopicPartition.read(partitions).map(\.topicPartition)
    if err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
        if let partitions {
            let chosen = box.startOffsets?(list) ?? [:]
            for i in 0..<Int(partitions.pointee.cnt) {
                let e = partitions.pointee.elems[i]
                let tp = TopicPartition(String(cString: e.topic), e.partition)
                if let offset = chosen[tp] {
                    partitions.pointee.elems[i].offset = offset
                } else if box.fromBeginning {
                    partitions.pointee.elems[i].offset = rekindle_offset_beginning
                }
            }
        }
        _ = rd_kafka_assign(rk, partitions)
        box.pending.append(.assigned(list))
    } else {
        if rd_kafka_assignment_lost(rk) != 0, let lost = box.assignmentLost {
            lost(list)
        } else {
            box.willRevoke?(list)
        }
        _ = rd_kafka_assign(rk, nil)
        box.pending.append(.revoked(list))
    }
}

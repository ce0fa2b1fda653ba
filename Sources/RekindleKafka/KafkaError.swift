import CRdKafka

/// An error from librdkafka, with its code and message.
public struct KafkaError: Error, CustomStringConvertible, Sendable, Equatable {
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    init(_ err: rd_kafka_resp_err_t, _ context: String = "") {
        code = err.rawValue
        let text = String(cString: rd_kafka_err2str(err))
        message = context.isEmpty ? text : "\(context): \(text)"
    }

    public var description: String { "kafka: \(message) (code \(code))" }

    static func check(_ err: rd_kafka_resp_err_t, _ context: String) throws(KafkaError) {
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context) }
    }
}

public struct TopicPartition: Hashable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
    public var description: String { "\(topic)[\(partition)]" }
}

/// A partition with an offset (the next offset to read, as Kafka commits it).
public struct TopicPartitionOffset: Hashable, Sendable {
    public var topicPartition: TopicPartition
    public var offset: Int64
    public init(_ tp: TopicPartition, offset: Int64) {
        topicPartition = tp
        self.offset = offset
    }

    /// The partition read from its first offset still kept.
    public static func beginning(_ tp: TopicPartition) -> TopicPartitionOffset {
        TopicPartitionOffset(tp, offset: rekindle_offset_beginning)
    }
}

extension TopicPartition {
    static func list(_ items: [TopicPartitionOffset]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(items.count))!
        for item in items {
            let p = rd_kafka_topic_partition_list_add(list, item.topicPartition.topic, item.topicPartition.partition)!
            p.pointee.offset = item.offset
        }
        return list
    }

    static func read(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>?) -> [TopicPartitionOffset] {
        guard let list, list.pointee.cnt > 0 else { return [] }
        return (0..<Int(list.pointee.cnt)).map { i in
            let e = list.pointee.elems[i]
            return TopicPartitionOffset(TopicPartition(String(cString: e.topic), e.partition), offset: e.offset)
        }
    }
}

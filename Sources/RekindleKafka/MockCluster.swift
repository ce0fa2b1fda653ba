import CRdKafka

/// librdkafka's mock cluster: a real Kafka-protocol broker on loopback, in this process.
/// It lives until `close()` (or deinit); other processes can use `bootstrapServers`.
public final class MockCluster: @unchecked Sendable {
    private let owner: OpaquePointer
    private var cluster: OpaquePointer?
    public let bootstrapServers: String

    public init(brokers: Int = 1) throws(KafkaError) {
        // log_level 4 hides the harmless "No bootstrap.servers" notice of the owning handle.
        let conf = try KafkaConfiguration.make(["log_level": "4"])
        owner = try KafkaConfiguration.newClient(RD_KAFKA_PRODUCER, conf)
        guard let c = rd_kafka_mock_cluster_new(owner, Int32(brokers)) else {
            rd_kafka_destroy(owner)
            throw KafkaError(code: -1, message: "cannot start the mock cluster")
        }
        cluster = c
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(c))
    }

    /// Creates a topic (the mock implements no admin CreateTopics).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        guard let cluster else { throw KafkaError(code: -1, message: "mock cluster closed") }
        try KafkaError.check(
            rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor)),
            "create topic \(name)")
    }

    /// Destroys the cluster before its owning handle (the other order aborts the process).
    public func close() {
        if let cluster {
            rd_kafka_mock_cluster_destroy(cluster)
            self.cluster = nil
            rd_kafka_destroy(owner)
        }
    }

    deinit { close() }
}

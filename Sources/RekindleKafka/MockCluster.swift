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
        let cluster = try open()
        try KafkaError.check(
            rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor)),
            "create topic \(name)")
    }

    /// Every broker refuses connections (`down: true`) or accepts them again; no leader change.
    public func setBrokersDown(_ down: Bool) throws(KafkaError) {
        let cluster = try open()
        try KafkaError.check(down ? rd_kafka_mock_broker_set_down(cluster, -1) : rd_kafka_mock_broker_set_up(cluster, -1),
                             down ? "broker down" : "broker up")
    }

    /// Every broker answers each request this much later.
    public func setRoundTrip(milliseconds: Int) throws(KafkaError) {
        let cluster = try open()
        try KafkaError.check(rd_kafka_mock_broker_set_rtt(cluster, -1, Int32(milliseconds)), "broker round trip")
    }

    /// The next `errors.count` Produce requests fail with these error codes, in order.
    public func failNextProduceRequests(_ errors: [rd_kafka_resp_err_t]) {
        guard let cluster else { return }
        var list = errors
        list.withUnsafeMutableBufferPointer { rd_kafka_mock_push_request_errors_array(cluster, 0, $0.count, $0.baseAddress) }
    }

    /// The cluster, while it is not closed.
    private func open() throws(KafkaError) -> OpaquePointer {
        guard let cluster else { throw KafkaError(code: -1, message: "mock cluster closed") }
        return cluster
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

import Foundation
import RekindleCore
import RekindleKafka
@testable import RekindleRuntime

/// Helpers for tests against librdkafka's mock cluster, through the same clients as production.
enum LiveKafka {
    /// A mock cluster with every Rekindle topic at `partitions` partitions.
    static func cluster(partitions: Int) throws -> MockCluster {
        let cluster = try MockCluster()
        for name in TopicNames().all { try cluster.createTopic(name, partitions: partitions) }
        try cluster.createTopic(TopicNames.embeddedBrokerMarker, partitions: 1)
        return cluster
    }

    /// Produces event lines to their kinds' topics keyed by customer_id, as `rekindle produce` does.
    static func produce(_ lines: [String], to cluster: MockCluster, extra: [String: String] = [:]) throws {
        var props = ["bootstrap.servers": cluster.bootstrapServers]
        props.merge(extra) { _, new in new }
        let producer = try Producer(props)
        let topics = TopicNames()
        for line in lines {
            let bytes = Array(line.utf8)
            switch bytes.withUnsafeBufferPointer({ EventDecoder.decode(bytes: $0) }) {
            case .success(let e): try producer.produce(topic: topics.name(of: e.topic), key: Array(e.customerId.utf8), value: bytes)
            case .failure: try producer.produce(topic: topics.orders, key: nil, value: bytes)
            }
        }
        try producer.flush()
    }

    /// Every message of `topic` from its beginning, read until each partition reports its end.
    static func readAll(_ topic: String, from cluster: MockCluster, partitions: Int) throws -> [ConsumedMessage] {
        let consumer = try Consumer(
            ["bootstrap.servers": cluster.bootstrapServers, "group.id": "reader-\(UUID().uuidString)",
             "session.timeout.ms": "6000", "fetch.wait.max.ms": "10"], fromBeginning: true)
        defer { consumer.close() }
        try consumer.assign((0..<partitions).map { TopicPartition(topic, Int32($0)) })
        var got: [ConsumedMessage] = []
        var ended = Set<Int32>()
        let deadline = Date().addingTimeInterval(60)
        while ended.count < partitions && Date() < deadline {
            switch consumer.poll(timeoutMs: 100) {
            case .message(let m)?:
                got.append(m)
                ended.remove(m.topicPartition.partition)
            case .endOfPartition(let tp, _)?: ended.insert(tp.partition)
            default: break
            }
        }
        return got
    }

    /// Runs Rekindle live until it has been idle for `idle` seconds.
    static func run(_ cluster: MockCluster, rules: RuleSet = .defaults, group: String = "rekindle-test",
                    idle: Double = 0.5) throws -> LiveSummary {
        var options = LiveOptions(bootstrap: cluster.bootstrapServers)
        options.groupId = group
        options.rules = rules
        options.stopWhenIdleSeconds = idle
        return try LiveRunner(options: options).run()
    }
}

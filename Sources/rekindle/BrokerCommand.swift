import ArgumentParser
import Foundation
import RekindleKafka
import RekindleRuntime

struct BrokerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Start an embedded Kafka-protocol broker (librdkafka's mock cluster) on loopback, for demos and tests.",
        discussion: """
            Creates the input, output and dead-letter topics, prints `bootstrap: 127.0.0.1:PORT` as its
            first line, and serves until SIGINT or SIGTERM. Limits of the mock: each partition keeps only
            its last ~5 MiB, transactions have no effect, admin calls are not implemented.
            """)

    @Option(name: .long, help: "Partitions per topic.")
    var partitions = 4

    @Option(name: .long, help: "Number of brokers in the cluster.")
    var brokers = 1

    @Option(name: .long, help: "Another topic to create (repeatable).")
    var topic: [String] = []

    func validate() throws {
        guard partitions >= 1 && partitions <= 1000 else { throw ValidationError("--partitions: expected 1 to 1000") }
        guard brokers >= 1 && brokers <= 16 else { throw ValidationError("--brokers: expected 1 to 16") }
    }

    func run() throws {
        // Block the stop signals before librdkafka starts its threads, so they inherit the mask
        // and only sigwait below receives them.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        let cluster = try MockCluster(brokers: brokers)
        for name in TopicNames().all + topic { try cluster.createTopic(name, partitions: partitions) }
        try cluster.createTopic(TopicNames.embeddedBrokerMarker, partitions: 1)
        // Unbuffered, so a script reading our stdout sees the line at once.
        FileHandle.standardOutput.write(Data("bootstrap: \(cluster.bootstrapServers)\n".utf8))
        FileHandle.standardError.write(Data(
            "topics (\(partitions) partitions each): \((TopicNames().all + topic).joined(separator: ", "))\nCtrl-C to stop\n".utf8))
        var received: Int32 = 0
        sigwait(&signals, &received)
        cluster.close()
    }
}

import ArgumentParser
import Foundation
import RekindleCore
import RekindleKafka
import RekindleRuntime

struct ProduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Produce JSON-lines events to the input topics, each to its kind's topic, keyed by customer_id.",
        discussion: "A line that is not a valid event goes to the orders topic unkeyed, as a faulty producer would send it.")

    @Option(name: .long, help: "Kafka bootstrap servers.")
    var bootstrap: String

    @Option(name: .long, parsing: .upToNextOption, help: "Event files (JSON lines).")
    var input: [String]

    @Option(name: .long, help: "librdkafka partitioner: murmur2_random (Java's) or consistent_random (librdkafka's default).")
    var partitioner = "murmur2_random"

    func run() throws {
        for path in input { try InputFile.check(path, flag: "--input") }
        let producer = try Producer(["bootstrap.servers": bootstrap, "partitioner": partitioner])
        let topics = TopicNames()
        var count = 0
        for path in input {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw UsageError(message: "--input: cannot read \(path)")
            }
            for line in data.split(separator: 0x0a, omittingEmptySubsequences: true) {
                let bytes = Array(line)
                switch bytes.withUnsafeBufferPointer({ EventDecoder.decode(bytes: $0) }) {
                case .success(let e):
                    try producer.produce(topic: topics.name(of: e.topic), key: Array(e.customerId.utf8), value: bytes)
                case .failure:
                    try producer.produce(topic: topics.orders, key: nil, value: bytes)
                }
                count += 1
                if count % 50_000 == 0 { producer.poll() }
            }
        }
        try producer.flush()
        FileHandle.standardError.write(Data("produced \(count) messages\n".utf8))
    }
}

import ArgumentParser
import Foundation
import RekindleCore
import RekindleKafka
import RekindleRuntime

/// Spec 7.3's erasure from the operator's side: the erasure event that makes the fold forget the
/// customers, and on request a tombstone per customer on Rekindle's own output topics, so that a
/// compacted output topic drops what it held under their key.
struct EraseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase",
        abstract: "Ask Rekindle to forget customers: an erasure event each, and tombstones on its output topics on request.",
        discussion: """
            The erasure event goes to the orders topic keyed by the customer id (erasure is read on any input topic).
            --tombstones also writes a null-value message keyed by each customer id to the triggers, conversions and
            withheld topics: on compacted topics the broker then drops their earlier messages. See deploy/README.md for
            what the operator must also erase upstream.
            """)

    @Option(name: .long, help: "Kafka bootstrap servers.")
    var bootstrap: String

    @Option(name: .long, help: "A customer id to forget (repeatable).")
    var customer: [String] = []

    @Option(name: .long, help: "The erasure's occurred_at (RFC 3339; default now). It is applied in event time, like any event.")
    var at: String?

    @Flag(name: .long, help: "Also write a tombstone per customer to the output topics that exist.")
    var tombstones = false

    @Option(name: .long, help: "librdkafka partitioner: murmur2_random (Java's, as Rekindle keys its outputs) or consistent_random.")
    var partitioner = "murmur2_random"

    func validate() throws {
        guard !customer.isEmpty else { throw ValidationError("--customer: name at least one customer id") }
        guard customer.allSatisfy({ !$0.isEmpty }) else { throw ValidationError("--customer: an id is a non-empty string") }
    }

    func run() throws {
        let when = try at.map { try parseTime($0, flag: "--at") } ?? Millis((Date().timeIntervalSince1970 * 1000).rounded(.down))
        let producer = try Producer(["bootstrap.servers": bootstrap, "partitioner": partitioner])
        let topics = TopicNames()
        for id in customer {
            let line = #"{"type":"erasure","event_id":"erasure-\#(UUID().uuidString.lowercased())","customer_id":\#(JSONWriter.quoted(id)),"occurred_at":"\#(Timestamp.format(when))"}"#
            try producer.produce(topic: topics.orders, key: Array(id.utf8), value: Array(line.utf8))
        }
        var written: [String] = []
        if tombstones {
            let consumer = try Consumer(["bootstrap.servers": bootstrap, "group.id": "rekindle-erase-\(UUID().uuidString)"], fromBeginning: true)
            let counts = try consumer.partitionCounts([topics.triggers, topics.conversions, topics.withheld])
            consumer.close()
            for topic in [topics.triggers, topics.conversions, topics.withheld] where (counts[topic] ?? nil) != nil {
                for id in customer { try producer.produce(topic: topic, key: Array(id.utf8), value: nil) }
                written.append(topic)
            }
        }
        try producer.flush()
        var message = "erasure events for \(customer.count) customer\(customer.count == 1 ? "" : "s") on \(topics.orders)"
        if tombstones { message += "; tombstones on \(written.isEmpty ? "no output topic (none exists)" : written.joined(separator: ", "))" }
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}

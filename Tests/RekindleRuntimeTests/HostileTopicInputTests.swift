import Foundation
import RekindleCore
import RekindleKafka
@testable import RekindleRuntime
import Testing

/// Hostile messages on the input topics: a broken client clock, a tombstone beside an empty
/// value, totals that overflow. Each is a dead letter with its reason, and the run goes on.
@Suite(.serialized) struct HostileTopicInputTests {
    static func deadLetters(_ cluster: MockCluster) throws -> [String] {
        try LiveKafka.readAll("rekindle-dead-letters", from: cluster, partitions: 1).map { String(decoding: $0.value, as: UTF8.self) }
    }

    /// One event dated 9999 used to move its task's watermark to the end of time and fire every
    /// pending touch. Its message's timestamp (CreateTime, now) is the reference: it is dead-lettered
    /// and the task's time stays that of the real events.
    @Test func anEventFarAheadOfItsMessageTimestampIsDeadLetteredAndMovesNoClock() throws {
        let cluster = try LiveKafka.cluster(partitions: 1)
        defer { cluster.close() }
        let lines = [
            #"{"type":"order","event_id":"e1","customer_id":"c1","order_id":"o1","status":"completed","occurred_at":"2026-01-01T00:00:00Z","total":10}"#,
            #"{"type":"product_view","event_id":"e2","customer_id":"c2","product_id":"p1","occurred_at":"2026-01-05T00:00:00Z"}"#,
            #"{"type":"email_open","event_id":"e3","customer_id":"c3","message_id":"m1","occurred_at":"9999-12-31T23:59:59Z"}"#,
            #"{"type":"email_open","event_id":"e4","customer_id":"c1","message_id":"m2","occurred_at":"2026-01-06T00:00:00Z"}"#,
        ]
        try LiveKafka.produce(lines, to: cluster)
        let summary = try LiveKafka.run(cluster, group: "skew-\(UUID().uuidString)")
        let last = Timestamp.parse("2026-01-06T00:00:00Z")!
        #expect(summary.watermarks.map(\.watermark) == [last])
        let dead = try Self.deadLetters(cluster)
        #expect(dead.count == 1)
        #expect(dead.first?.contains(#""reason":"email-opens[0]@0: occurred_at: 9999-12-31T23:59:59.000Z is more than 1 day ahead of "#) == true)
        #expect(dead.first?.contains("(max_future_skew)") == true)
        let triggers = try LiveKafka.readAll("campaign-triggers", from: cluster, partitions: 1)
        let fired = triggers.compactMap { m -> Millis? in
            guard case .object(let o) = try? JSONParser.parse(String(decoding: m.value, as: UTF8.self)),
                case .string(let s)? = JSONValue.object(o)["fired_at"] else { return nil }
            return Timestamp.parse(s)
        }
        #expect(!fired.isEmpty)  // the abandoned view of c2 fired within the real time span
        #expect(fired.allSatisfy { $0 <= last })
    }

    @Test func aTombstoneAndAnEmptyValueAreDeadLetteredApart() throws {
        let cluster = try LiveKafka.cluster(partitions: 1)
        defer { cluster.close() }
        let producer = try Producer(["bootstrap.servers": cluster.bootstrapServers])
        try producer.produce(topic: "orders", key: Array("c1".utf8), value: nil)
        try producer.produce(topic: "orders", key: Array("c1".utf8), value: [])
        try producer.flush()
        _ = try LiveKafka.run(cluster, group: "null-\(UUID().uuidString)")
        let dead = try Self.deadLetters(cluster)
        #expect(dead.count == 2)
        #expect(dead.contains { $0.contains(#""reason":"orders[0]@0: the message has a null value (a tombstone), not an event","original":null"#) })
        #expect(dead.contains { $0.contains(#""source":{"topic":"orders","partition":0,"offset":1}"#) && $0.hasSuffix(#""original":""}"#) })
    }

    @Test func anOrderWhoseTotalWouldOverflowTheTotalSpentIsDeadLetteredAndTheRestFolds() throws {
        let cluster = try LiveKafka.cluster(partitions: 1)
        defer { cluster.close() }
        let lines = [
            #"{"type":"order","event_id":"e1","customer_id":"c1","order_id":"o1","status":"completed","occurred_at":"2026-01-01T00:00:00Z","total":1e308}"#,
            #"{"type":"order","event_id":"e2","customer_id":"c1","order_id":"o2","status":"completed","occurred_at":"2026-01-02T00:00:00Z","total":1e308}"#,
            #"{"type":"order","event_id":"e3","customer_id":"c1","order_id":"o3","status":"completed","occurred_at":"2026-01-03T00:00:00Z","total":5}"#,
            #"{"type":"email_open","event_id":"e4","customer_id":"c1","message_id":"m2","occurred_at":"2026-09-06T00:00:00Z"}"#,
        ]
        try LiveKafka.produce(lines, to: cluster)
        let summary = try LiveKafka.run(cluster, group: "total-\(UUID().uuidString)")
        #expect(summary.eventsIn == 3)  // folded; the refused order is a bad input
        #expect(summary.badInputs == 1)
        let dead = try Self.deadLetters(cluster)
        #expect(dead.count == 1)
        #expect(dead.first?.contains(#""reason":"orders[0]@1: total: 1e+308 would make customer \"c1\"'s total_spent overflow a 64-bit float""#) == true)
        let triggers = try LiveKafka.readAll("campaign-triggers", from: cluster, partitions: 1).map { String(decoding: $0.value, as: UTF8.self) }
        #expect(!triggers.isEmpty)
        #expect(triggers.allSatisfy { !$0.contains(#""total_spent":null"#) && $0.contains(#""completed_orders":2"#) })
    }

    /// A configured output topic that does not exist used to be auto-created by the embedded broker
    /// with its default partition count, silently. `run` refuses to start instead.
    @Test func aMissingOutputTopicIsRefusedAtStartNotAutoCreated() throws {
        let cluster = try LiveKafka.cluster(partitions: 2)
        defer { cluster.close() }
        var options = LiveOptions(bootstrap: cluster.bootstrapServers)
        options.groupId = "missing-\(UUID().uuidString)"
        options.topics.triggers = "my-campaign-triggers"
        options.stopWhenIdleSeconds = 0.2
        #expect {
            try LiveRunner(options: options).run()
        } throws: { error in
            "\(error)".contains("output topic my-campaign-triggers not found on 127.0.0.1:")
                && "\(error)".contains("with 2 partitions, as the inputs have")
        }
        // Checking did not create it.
        let consumer = try Consumer(["bootstrap.servers": cluster.bootstrapServers, "group.id": "probe"], fromBeginning: true)
        defer { consumer.close() }
        #expect(try consumer.partitionCounts(["my-campaign-triggers"])["my-campaign-triggers"] == .some(nil))
    }
}

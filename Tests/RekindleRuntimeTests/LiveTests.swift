import Foundation
import RekindleCore
import RekindleKafka
@testable import RekindleRuntime
import Testing

@Suite(.serialized) struct LiveTests {
    /// Spec section 4, Determinism: events produced in occurred_at order to P partitions give the
    /// same triggers, byte for byte, as `replay --partitions P` on them (compared as sets per task).
    @Test func liveOnFourPartitionsEqualsReplayWithFourPartitions() throws {
        let p = 4
        let lines = ReplayFixture.generated(customers: 500, days: 80, seed: 11)
        let cluster = try LiveKafka.cluster(partitions: p)
        defer { cluster.close() }
        try LiveKafka.produce(lines, to: cluster)
        let summary = try LiveKafka.run(cluster)
        #expect(summary.watermarks.map(\.partition) == [0, 1, 2, 3])

        let replay = ReplayFixture.replay(lines, partitions: p)
        let live = try LiveKafka.readAll("campaign-triggers", from: cluster, partitions: p)
        #expect(replay.triggers.count > 1000)
        #expect(live.count == replay.triggers.count)
        for k in 0..<p {
            let fromLive = live.filter { $0.topicPartition.partition == Int32(k) }.map { String(decoding: $0.value, as: UTF8.self) }
            let fromReplay = replay.triggers.filter { Partitioner.murmur2.partition($0.customerId, count: p) == k }
                .map { String(decoding: $0.json, as: UTF8.self) }
            #expect(fromLive.sorted() == fromReplay.sorted(), "task \(k)")
            // Keyed by customer_id with the Java partitioner: task k's customers land on partition k.
            for m in live where m.topicPartition.partition == Int32(k) {
                #expect(Partitioner.murmur2.partition(String(decoding: m.key ?? [], as: UTF8.self), count: p) == k)
            }
        }
        let conversions = try LiveKafka.readAll("campaign-conversions", from: cluster, partitions: p)
        #expect(conversions.map { String(decoding: $0.value, as: UTF8.self) }.sorted()
            == replay.conversions.map { String(decoding: $0.json, as: UTF8.self) }.sorted())
        // Each task's final watermark is the last event's time, as replay's end of input.
        let last = lines.compactMap { if case .success(let e) = EventDecoder.decode($0) { return e.occurredAt } else { return nil } }.max()!
        #expect(summary.watermarks.allSatisfy { $0.watermark == last })
    }

    /// Every kind of bad input goes to the dead-letter topic with its reason and source, and the
    /// good events around it are all processed.
    @Test func everyBadInputKindLandsInTheDeadLetterTopicAndGoodEventsGoOn() throws {
        let cluster = try LiveKafka.cluster(partitions: 1)
        defer { cluster.close() }
        let producer = try Producer(["bootstrap.servers": cluster.bootstrapServers, "message.max.bytes": "4000000"])
        func send(_ topic: String, _ key: String?, _ value: [UInt8]) throws {
            try producer.produce(topic: topic, key: key.map { Array($0.utf8) }, value: value)
        }
        let purchase = #"{"type":"order","event_id":"e1","customer_id":"c1","order_id":"o1","status":"completed","occurred_at":"2026-01-01T00:00:00Z","total":10}"#
        let view = #"{"type":"product_view","event_id":"e2","customer_id":"c1","product_id":"p1","occurred_at":"2026-01-20T00:00:00Z"}"#
        try send("orders", "c1", Array(purchase.utf8))
        try send("orders", "c1", Array("not json".utf8))
        try send("orders", "c1", Array(#"{"type":"order","event_id":"e3","customer_id":"c1","status":"paid","occurred_at":"2026-01-02T00:00:00Z","total":1}"#.utf8))
        try send("orders", "c1", Array(#"{"type":"order","event_id":"e4","customer_id":"c1","order_id":"o2","status":"paid","occurred_at":"2026-01-02T00:00:00Z","total":"1"}"#.utf8))
        try send("orders", "c1", Array(#"{"type":"order","event_id":"e5","customer_id":"c1","order_id":"o2","status":"paid","occurred_at":"yesterday","total":1}"#.utf8))
        try send("orders", "c1", Array(#"{"type":"refund","event_id":"e6","customer_id":"c1","occurred_at":"2026-01-02T00:00:00Z"}"#.utf8))
        try send("orders", "c1", Array(#"{"type":"order","event_id":"e7","customer_id":"c1","order_id":"o2","status":"shipped","occurred_at":"2026-01-02T00:00:00Z","total":1}"#.utf8))
        try send("orders", "c1", Array(#"{"type":"order","pad":""#.utf8) + [UInt8](repeating: 0x61, count: 1 << 20) + Array(#""}"#.utf8))
        try send("orders", "c1", Array(#"{"type":"order","customer_id":""#.utf8) + [0xff, 0xfe] + Array(#""}"#.utf8))
        try send("orders", "someone-else", Array(purchase.replacingOccurrences(of: "e1", with: "e8").utf8))
        try send("orders", "c1", Array(view.replacingOccurrences(of: "e2", with: "e9").utf8))
        try send("product-views", "c1", Array(view.utf8))
        try producer.flush()

        _ = try LiveKafka.run(cluster, rules: rulesOnly(["rf"]))
        let dead = try LiveKafka.readAll("rekindle-dead-letters", from: cluster, partitions: 1)
        let letters = try dead.map { try JSONParser.parse(String(decoding: $0.value, as: UTF8.self)) }
        let reasons = letters.compactMap { if case .string(let s)? = $0["reason"] { return s } else { return nil } }
        #expect(reasons == [
            "orders[0]@1: not valid JSON: unexpected 'n' at byte 0",
            "orders[0]@2: missing required field order_id",
            #"orders[0]@3: total: expected a number, got string "1""#,
            #"orders[0]@4: occurred_at: expected RFC 3339, got "yesterday""#,
            #"orders[0]@5: type: unknown event type "refund""#,
            #"orders[0]@6: status: unknown status "shipped""#,
            "orders[0]@7: message is \((1 << 20) + 25) bytes, over the 1 MiB limit",
            "orders[0]@8: not valid UTF-8 at byte 31",
            #"orders[0]@9: key "someone-else" differs from customer_id "c1""#,
            "orders[0]@10: type: a product_view event does not belong on the orders topic",
        ])
        #expect(letters[0]["source"] == .object([JSONMember("topic", .string("orders")), JSONMember("partition", .number(0)), JSONMember("offset", .number(1))]))
        #expect(letters[0]["original"] == .string("not json"))
        #expect(letters[6]["original_truncated"] == .bool(true))
        #expect(letters[7]["original_base64"] != nil)
        let keys: [String] = dead.map { String(decoding: $0.key ?? [], as: UTF8.self) }
        #expect(keys == ["c1", "c1", "c1", "c1", "c1", "c1", "c1", "c1", "someone-else", "c1"], "dead letters keep the original key")
        // The good purchase and view around them were folded: rf.new fires at day 10, then touch 2.
        let triggers = try LiveKafka.readAll("campaign-triggers", from: cluster, partitions: 1)
            .map { String(decoding: $0.value, as: UTF8.self) }
        #expect(triggers.count == 2)
        #expect(triggers.allSatisfy { $0.contains(#""rule_id":"rf.new""#) })
    }
}

@Suite(.serialized) struct LiveStatusTests {
    /// `/health` is ready only once the assigned tasks caught up; a customer's state is served by
    /// the task that owns them; stop() delivers, commits and returns.
    @Test func healthTurnsReadyAfterCatchingUpAndTheCustomerIsInspectable() throws {
        let cluster = try LiveKafka.cluster(partitions: 2)
        defer { cluster.close() }
        let purchase = #"{"type":"order","event_id":"e1","customer_id":"c7","order_id":"o1","status":"completed","occurred_at":"2026-01-01T00:00:00Z","total":250}"#
        let open = #"{"type":"email_open","event_id":"e2","customer_id":"c8","message_id":"m","occurred_at":"2026-01-03T00:00:00Z"}"#
        try LiveKafka.produce([purchase, open], to: cluster)
        var options = LiveOptions(bootstrap: cluster.bootstrapServers)
        options.groupId = "status-test"
        let runner = LiveRunner(options: options)
        #expect(runner.health().ready == false)
        let done = DispatchSemaphore(value: 0)
        let result = LockedBox<Result<LiveSummary, Error>?>(nil)
        Thread {
            result.set(Result { try runner.run() })
            done.signal()
        }.start()
        // Wait for the condition itself (with a deadline), not for a guessed time.
        let deadline = Date().addingTimeInterval(30)
        while !runner.health().ready && Date() < deadline { usleep(20_000) }
        #expect(runner.health().ready)
        let json = try #require(runner.customer("c7"))
        let state = try JSONParser.parse(String(decoding: json, as: UTF8.self))
        #expect(state["completed_orders"] == .number(1))
        #expect(state["total_spent"] == .number(250))
        guard case .array(let pending)? = state["pending"] else { Issue.record("no pending list"); return }
        #expect(pending.first?["rule_id"] == .string("rf.new"))
        #expect(pending.first?["due_at"] == .string("2026-01-11T00:00:00.000Z"))
        #expect(runner.customer("nobody") == nil)
        runner.stop()
        #expect(done.wait(timeout: .now() + 30) == .success)
        if case .failure(let e)? = result.get() { Issue.record("run failed: \(e)") }
    }
}

final class LockedBox<T>: @unchecked Sendable {
    private var value: T
    private let lock = NSLock()
    init(_ v: T) { value = v }
    func set(_ v: T) { lock.lock(); value = v; lock.unlock() }
    func get() -> T { lock.lock(); defer { lock.unlock() }; return value }
}

@Suite(.serialized) struct CoPartitioningTests {
    @Test func runRefusesInputTopicsWithDifferentPartitionCountsOrMissingOnes() throws {
        let cluster = try MockCluster()
        defer { cluster.close() }
        try cluster.createTopic("orders", partitions: 4)
        try cluster.createTopic("product-views", partitions: 2)
        var options = LiveOptions(bootstrap: cluster.bootstrapServers)
        options.stopWhenIdleSeconds = 0
        #expect(throws: LiveError.self) { _ = try LiveRunner(options: options).run() }
        do {
            _ = try LiveRunner(options: options).run()
        } catch {
            #expect("\(error)".contains("email-opens not found"))
        }
        try cluster.createTopic("email-opens", partitions: 4)
        do {
            _ = try LiveRunner(options: options).run()
            Issue.record("ran on topics that are not co-partitioned")
        } catch {
            #expect("\(error)" == "input topics are not co-partitioned (orders: 4, product-views: 2, email-opens: 4): task k reads partition k of each, so they need one partition count")
        }
    }
}

import Foundation
import RekindleKafka
import Testing

@Suite struct MockClusterTests {
    /// Reads until `count` messages arrived or every assigned partition hit its end.
    static func drain(_ consumer: Consumer, expecting count: Int, partitions: Int) -> [ConsumedMessage] {
        var got: [ConsumedMessage] = []
        var ends = Set<TopicPartition>()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            guard let event = consumer.poll(timeoutMs: 100) else { continue }
            switch event {
            case .message(let m):
                got.append(m)
                ends.remove(m.topicPartition)
            case .endOfPartition(let tp, _):
                ends.insert(tp)
                if got.count >= count && ends.count == partitions { return got }
            default: break
            }
        }
        return got
    }

    @Test func aProducedMessageIsConsumedWithItsKeyValueAndPartitionByMurmur2() throws {
        let cluster = try MockCluster()
        try cluster.createTopic("t", partitions: 4)
        let producer = try Producer(["bootstrap.servers": cluster.bootstrapServers])
        for i in 0..<100 {
            try producer.produce(topic: "t", key: Array("c\(i)".utf8), value: Array("v\(i)".utf8))
        }
        try producer.flush()
        #expect(producer.delivered == 100)
        let consumer = try Consumer(
            ["bootstrap.servers": cluster.bootstrapServers, "group.id": "g", "session.timeout.ms": "6000",
             "fetch.wait.max.ms": "10"], fromBeginning: true)
        try consumer.subscribe(["t"])
        let got = Self.drain(consumer, expecting: 100, partitions: 4)
        #expect(got.count == 100)
        for m in got {
            let key = String(decoding: m.key ?? [], as: UTF8.self)
            #expect(String(decoding: m.value, as: UTF8.self) == "v" + key.dropFirst())
            // librdkafka's murmur2_random equals Kafka's Java partitioner.
            #expect(Int(m.topicPartition.partition) == Self.javaPartition(key, 4))
        }
        consumer.close()
        cluster.close()
    }

    /// Kafka's `Utils.toPositive(Utils.murmur2(key)) % n`, written out here independently.
    static func javaPartition(_ key: String, _ n: Int) -> Int {
        let data = Array(key.utf8)
        let m: UInt32 = 0x5bd1_e995
        var h: UInt32 = 0x9747_b28c ^ UInt32(data.count)
        var i = 0
        while i + 4 <= data.count {
            var k = UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24
            k &*= m; k ^= k >> 24; k &*= m; h &*= m; h ^= k
            i += 4
        }
        let rest = data.count - i
        if rest >= 3 { h ^= UInt32(data[i + 2]) << 16 }
        if rest >= 2 { h ^= UInt32(data[i + 1]) << 8 }
        if rest >= 1 { h ^= UInt32(data[i]); h &*= m }
        h ^= h >> 13; h &*= m; h ^= h >> 15
        return Int(h & 0x7fff_ffff) % n
    }
}

import Foundation
import RekindleCore
import RekindleKafka

/// Snapshots on a compacted Kafka topic (default `rekindle-snapshots`), so a task that moves to
/// another machine restores there. Each task has `keep` slots; a snapshot goes to slot
/// `sequence % keep` as chunks keyed `task-<k>/slot-<s>/chunk-<i>`, each chunk carrying the
/// snapshot's sequence, its index and the chunk count. Compaction keeps the newest value per key;
/// a reader accepts a slot only when all its chunks carry one sequence (a write torn by a crash is
/// skipped, and the snapshot's own checksum catches the rest).
public final class KafkaSnapshotStore: SnapshotStore, @unchecked Sendable {
    public let topic: String
    public let keep: Int
    let chunkBytes: Int
    let kafka: [String: String]
    let producer: Producer

    public init(kafka: [String: String], topic: String = "rekindle-snapshots", keep: Int = 3, chunkBytes: Int = 512 * 1024) throws {
        self.kafka = kafka
        self.topic = topic
        self.keep = max(1, keep)
        self.chunkBytes = max(1, chunkBytes)
        producer = try Producer(kafka.merging(["message.max.bytes": String(chunkBytes + 65_536)]) { user, _ in user })
    }

    static func key(_ task: Int32, slot: Int, chunk: Int) -> [UInt8] { Array("task-\(task)/slot-\(slot)/chunk-\(chunk)".utf8) }

    public func save(_ snapshot: TaskSnapshot) throws {
        let bytes = snapshot.encoded()
        let slot = Int(snapshot.sequence % UInt64(keep))
        let count = max(1, (bytes.count + chunkBytes - 1) / chunkBytes)
        for i in 0..<count {
            var header = ByteHeader()
            header.put(snapshot.sequence)
            header.put(UInt64(i))
            header.put(UInt64(count))
            let part = bytes[min(bytes.count, i * chunkBytes)..<min(bytes.count, (i + 1) * chunkBytes)]
            try producer.produce(topic: topic, key: Self.key(snapshot.partition, slot: slot, chunk: i), value: header.bytes + part)
        }
        try producer.flush()
    }

    /// The topic must exist (a write to a missing one would wait for it to appear); a write refused
    /// later (ACLs, sizes) fails `save`, which counts as a failed snapshot.
    @discardableResult public func prepare() throws -> [String] {
        let consumer = try Consumer(
            kafka.merging(["group.id": "rekindle-snapshot-check-\(UUID().uuidString)"]) { user, _ in user }, fromBeginning: false)
        defer { consumer.close() }
        guard case .some(.some) = try consumer.partitionCounts([topic])[topic] else {
            throw LiveError("snapshot topic \(topic) not found on \(kafka["bootstrap.servers"] ?? "the cluster") (create it compacted; see deploy/README.md)")
        }
        return []
    }

    public func candidates(partition task: Int32) throws -> [SnapshotCandidate] {
        let latest = try readLatest(prefix: "task-\(task)/")
        var found: [(sequence: UInt64, name: String, bytes: [UInt8])] = []
        for slot in 0..<keep {
            guard let first = latest["task-\(task)/slot-\(slot)/chunk-0"], first.count >= 24 else { continue }
            let (sequence, _, count) = ByteHeader.read(first)
            var bytes: [UInt8] = []
            var whole = count > 0 && count < 1 << 20
            for i in 0..<Int(whole ? count : 0) {
                guard let chunk = latest["task-\(task)/slot-\(slot)/chunk-\(i)"], chunk.count >= 24 else { whole = false; break }
                let (s, index, n) = ByteHeader.read(chunk)
                guard s == sequence, index == UInt64(i), n == count else { whole = false; break }
                bytes += chunk[24...]
            }
            // A torn slot is still offered (and then refused by its checksum), so it is reported.
            found.append((sequence, "\(topic):task-\(task)/slot-\(slot) (sequence \(sequence)\(whole ? "" : ", incomplete"))", whole ? bytes : []))
        }
        return found.sorted { $0.sequence > $1.sequence }.map { SnapshotCandidate(name: $0.name, sequence: $0.sequence, bytes: $0.bytes) }
    }

    /// The newest value of every key with the prefix, reading the topic from its beginning.
    func readLatest(prefix: String) throws -> [String: [UInt8]] {
        let consumer = try Consumer(kafka.merging(["group.id": "rekindle-snapshot-reader-\(UUID().uuidString)", "fetch.wait.max.ms": "10"]) { user, _ in user },
                                    fromBeginning: true)
        defer { consumer.close() }
        guard case .some(.some(let count)) = try consumer.partitionCounts([topic])[topic] else { return [:] }
        var latest: [String: [UInt8]] = [:]
        let starts = (0..<Int32(count)).map { TopicPartitionOffset(TopicPartition(topic, $0), offset: 0) }
        try consumer.readToEnd(starts) { m in
            if let key = m.key.map({ String(decoding: $0, as: UTF8.self) }), key.hasPrefix(prefix) {
                latest[key] = m.value.isEmpty ? nil : m.value
            }
        }
        return latest
    }
}

/// Three little-endian UInt64s in front of each chunk: sequence, index, count.
struct ByteHeader {
    var bytes: [UInt8] = []
    mutating func put(_ v: UInt64) { for k in 0..<8 { bytes.append(UInt8((v >> (8 * UInt64(k))) & 0xff)) } }
    static func read(_ b: [UInt8]) -> (UInt64, UInt64, UInt64) {
        func at(_ o: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) } }
        return (at(0), at(8), at(16))
    }
}

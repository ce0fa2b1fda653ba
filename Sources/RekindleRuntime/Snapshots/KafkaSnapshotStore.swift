import Foundation
import RekindleCore
import RekindleKafka
import Synchronization

/// Snapshots on a compacted Kafka topic (default `rekindle-snapshots`), so a task that moves to
/// another machine restores there. Each task has `keep` slots; a snapshot goes to slot
/// `sequence % keep` as chunks keyed `task-<k>/slot-<s>/chunk-<i>`, each chunk carrying the
/// snapshot's sequence, its index and the chunk count. Compaction keeps the newest value per key;
/// a reader accepts a slot only when all its chunks carry one sequence (a write torn by a crash is
/// skipped, and the snapshot's own checksum catches the rest).
///
/// Slots are per owner epoch (`SnapshotSequence`): `task-<k>/epoch-<e>/slot-<s>/chunk-<i>`, slot
/// `counter % keep` (epoch 0, written before epochs, keeps its old keys `task-<k>/slot-<s>/...`).
/// Why: with one set of slots a zombie's write in an old epoch could replace the new owner's
/// claim in its slot. A restore uses only the newest epoch, so the first write of a newer epoch
/// deletes (tombstones) the older epochs' keys the store last read; a zombie's write that lands
/// later stays until the next owner's claim. A claim cannot be conditional here (Kafka has no
/// compare-and-set), so `claim` is `save`: see deploy/README.md.
public final class KafkaSnapshotStore: SnapshotStore, @unchecked Sendable {
    public let topic: String
    public let keep: Int
    let chunkBytes: Int
    let kafka: [String: String]
    let producer: Producer
    /// Every key of each task's older-epoch snapshots seen by the last `candidates`, to delete
    /// once the task writes in a newer epoch.
    private let seenKeys = Mutex<[Int32: [(epoch: UInt32, key: String)]]>([:])

    public init(kafka: [String: String], topic: String = "rekindle-snapshots", keep: Int = 3, chunkBytes: Int = 512 * 1024) throws {
        self.kafka = kafka
        self.topic = topic
        self.keep = max(1, keep)
        self.chunkBytes = max(1, chunkBytes)
        producer = try Producer(kafka.merging(["message.max.bytes": String(chunkBytes + 65_536)]) { user, _ in user })
    }

    static func slotName(_ task: Int32, epoch: UInt32, slot: Int) -> String {
        epoch == 0 ? "task-\(task)/slot-\(slot)" : "task-\(task)/epoch-\(epoch)/slot-\(slot)"
    }

    static func key(_ task: Int32, epoch: UInt32 = 0, slot: Int, chunk: Int) -> [UInt8] {
        Array("\(slotName(task, epoch: epoch, slot: slot))/chunk-\(chunk)".utf8)
    }

    /// The epoch and slot of a key of task `task` (`task-<k>/[epoch-<e>/]slot-<s>/chunk-<i>`).
    static func parse(_ key: String, task: Int32) -> (epoch: UInt32, slot: Int)? {
        var parts = key.split(separator: "/").map(String.init)
        guard parts.first == "task-\(task)" else { return nil }
        parts.removeFirst()
        var epoch: UInt32 = 0
        if let first = parts.first, first.hasPrefix("epoch-") {
            guard let e = UInt32(first.dropFirst("epoch-".count)) else { return nil }
            epoch = e
            parts.removeFirst()
        }
        guard parts.count == 2, parts[0].hasPrefix("slot-"), let slot = Int(parts[0].dropFirst("slot-".count)),
              parts[1].hasPrefix("chunk-")
        else { return nil }
        return (epoch, slot)
    }

    public func save(_ snapshot: TaskSnapshot) throws {
        let bytes = snapshot.encoded()
        let number = SnapshotSequence(snapshot.sequence)
        let slot = Int(number.counter % UInt32(keep))
        let count = max(1, (bytes.count + chunkBytes - 1) / chunkBytes)
        for i in 0..<count {
            var header = ByteHeader()
            header.put(snapshot.sequence)
            header.put(UInt64(i))
            header.put(UInt64(count))
            let part = bytes[min(bytes.count, i * chunkBytes)..<min(bytes.count, (i + 1) * chunkBytes)]
            try producer.produce(topic: topic, key: Self.key(snapshot.partition, epoch: number.epoch, slot: slot, chunk: i),
                                 value: header.bytes + part)
        }
        try producer.flush()
        // Only after the newer epoch's snapshot is stored: a crash before leaves the old ones.
        let stale = seenKeys.withLock { seen in
            let (old, kept) = (seen[snapshot.partition] ?? []).reduce(into: ([String](), [(epoch: UInt32, key: String)]())) {
                if $1.epoch < number.epoch { $0.0.append($1.key) } else { $0.1.append($1) }
            }
            seen[snapshot.partition] = kept
            return old
        }
        guard !stale.isEmpty else { return }
        for key in stale { try producer.produce(topic: topic, key: Array(key.utf8), value: nil) }
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
        var slots: Set<[Int]> = []
        var keys: [(epoch: UInt32, key: String)] = []
        for key in latest.keys {
            guard let (epoch, slot) = Self.parse(key, task: task) else { continue }
            slots.insert([Int(epoch), slot])
            keys.append((epoch, key))
        }
        seenKeys.withLock { $0[task] = keys }
        var found: [(sequence: UInt64, name: String, bytes: [UInt8])] = []
        for es in slots.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let name = Self.slotName(task, epoch: UInt32(es[0]), slot: es[1])
            guard let first = latest["\(name)/chunk-0"], first.count >= 24 else { continue }
            let (sequence, _, count) = ByteHeader.read(first)
            var bytes: [UInt8] = []
            var whole = count > 0 && count < 1 << 20
            for i in 0..<Int(whole ? count : 0) {
                guard let chunk = latest["\(name)/chunk-\(i)"], chunk.count >= 24 else { whole = false; break }
                let (s, index, n) = ByteHeader.read(chunk)
                guard s == sequence, index == UInt64(i), n == count else { whole = false; break }
                bytes += chunk[24...]
            }
            // A torn slot is still offered (and then refused by its checksum), so it is reported.
            found.append((sequence, "\(topic):\(name) (sequence \(SnapshotSequence(sequence))\(whole ? "" : ", incomplete"))", whole ? bytes : []))
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

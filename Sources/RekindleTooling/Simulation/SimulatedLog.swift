import RekindleCore
import RekindleKafka
import RekindleRuntime

/// The simulation's Kafka: input partitions filled before the run, output partitions that grow as
/// instances deliver. A produce that was not flushed when its instance crashed lands as a prefix
/// per partition (what an idempotent producer guarantees), chosen by the seed.
struct SimulatedLog {
    let partitions: Int
    let topics = TopicNames()
    /// Input messages by topic partition, offsets 0...
    var inputs: [TopicPartition: [ConsumedMessage]] = [:]
    /// Delivered output values by topic partition.
    var outputs: [TopicPartition: [[UInt8]]] = [:]

    init(lines: [String], partitions: Int, rng: inout SplitMix64) {
        self.partitions = partitions
        for name in topics.inputs {
            for p in 0..<partitions { inputs[TopicPartition(name, Int32(p))] = [] }
        }
        for name in [topics.triggers, topics.conversions, topics.deadLetters, topics.withheld] {
            for p in 0..<partitions { outputs[TopicPartition(name, Int32(p))] = [] }
        }
        for line in lines {
            let bytes = Array(line.utf8)
            let tp: TopicPartition
            var key: [UInt8]?
            switch bytes.withUnsafeBufferPointer({ EventDecoder.decode(bytes: $0) }) {
            case .success(let e):
                key = Array(e.customerId.utf8)
                tp = TopicPartition(topics.name(of: e.topic), Int32(Partitioner.murmur2.partition(e.customerId, count: partitions)))
            case .failure:
                // As `rekindle produce` sends a line that is not an event: to orders, unkeyed.
                tp = TopicPartition(topics.orders, Int32(rng.below(partitions)))
            }
            let offset = Int64(inputs[tp]!.count)
            inputs[tp]!.append(ConsumedMessage(topicPartition: tp, offset: offset, key: key, value: bytes, timestamp: nil))
        }
    }

    func end(_ tp: TopicPartition) -> Int64 { Int64(inputs[tp]?.count ?? outputs[tp]?.count ?? 0) }

    var outputEnds: [OffsetEntry] {
        outputs.keys.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }.map {
            OffsetEntry(topic: $0.topic, partition: $0.partition, offset: Int64(outputs[$0]!.count))
        }
    }

    func outputPartition(_ topic: String, key: [UInt8]?) -> TopicPartition {
        let k = key.map { String(decoding: $0, as: UTF8.self) } ?? ""
        return TopicPartition(topic, Int32(Partitioner.murmur2.partition(k, count: partitions)))
    }

    /// The recovery read: output partitions from the given offsets to their end.
    func read(_ starts: [(topic: String, kind: OutputLedger.OutputKind, partition: Int32, offset: Int64)]) -> OutputLedger {
        var ledger = OutputLedger()
        for s in starts {
            let all = outputs[TopicPartition(s.topic, s.partition)] ?? []
            for value in all.dropFirst(Int(s.offset)) { ledger.learn(value, kind: s.kind) }
        }
        return ledger
    }
}

/// Snapshots in memory, the last three per task, with the faults a disk has: a write lost to a
/// crash before its rename, and a stored snapshot bit-flipped or cut short later.
struct SimulatedSnapshotStore {
    var byTask: [Int32: [[UInt8]]] = [:]  // newest last

    mutating func save(_ s: TaskSnapshot) {
        byTask[s.partition, default: []].append(s.encoded())
        if byTask[s.partition]!.count > 3 { byTask[s.partition]!.removeFirst() }
    }

    /// Newest first. Like a store that knows no sequence without decoding, it files none.
    func candidates(_ k: Int32) -> [SnapshotCandidate] {
        (byTask[k] ?? []).enumerated().reversed().map {
            SnapshotCandidate(name: "task-\(k)/\($0.offset)", sequence: nil, bytes: $0.element)
        }
    }

    /// Damages the newest snapshot of a task; returns what it did, for the failure report.
    mutating func corrupt(_ rng: inout SplitMix64) -> String? {
        let tasks = byTask.keys.sorted().filter { !(byTask[$0]!.isEmpty) }
        guard !tasks.isEmpty else { return nil }
        let k = tasks[rng.below(tasks.count)]
        var bytes = byTask[k]!.removeLast()
        let what: String
        if rng.below(2) == 0 {
            let at = rng.below(bytes.count)
            bytes[at] ^= UInt8(1 << rng.below(8))
            what = "bit flip in task \(k)'s newest snapshot at byte \(at)"
        } else {
            bytes = Array(bytes.prefix(rng.below(bytes.count)))
            what = "task \(k)'s newest snapshot cut to \(bytes.count) bytes"
        }
        byTask[k]!.append(bytes)
        return what
    }
}

import Foundation
import RekindleCore
import RekindleKafka

/// What is already on the output topics (spec section 5, Exactly-once): a recovering task reads
/// its output partitions from its snapshot's output offsets to their end, and then produces only
/// the outputs not found here. Triggers are known by `trigger_id`, conversions by trigger and
/// order, dead letters by their source topic/partition/offset.
public struct OutputLedger: Sendable {
    /// Each known output with its event time (fired_at, converted_at); dead letters have no time
    /// and are kept until the recovering tasks have re-read their inputs.
    private var known: [String: Millis] = [:]
    private(set) var suppressed = 0

    /// Empty: nothing known to be on the output topics yet.
    public init() {}

    var isEmpty: Bool { known.isEmpty }
    var count: Int { known.count }

    static func key(_ t: Trigger) -> String { "t|" + t.triggerId }
    static func key(withheld t: Trigger) -> String { "w|" + t.triggerId }
    static func key(_ c: Conversion) -> String { "c|\(c.triggerId)|\(c.orderId)" }
    static func key(_ d: DeadLetter) -> String? {
        guard case .topic(let name, let partition, let offset) = d.source else { return nil }
        return "d|\(name)|\(partition)|\(offset)"
    }

    /// Learns one message read back from an output topic.
    public mutating func learn(_ value: [UInt8], kind: OutputKind) {
        guard let v = try? value.withUnsafeBufferPointer({ try JSONParser.parse($0) }) else { return }
        func time(_ field: String) -> Millis {
            if case .string(let s)? = v[field], let t = Timestamp.parse(s) { return t }
            return .max
        }
        switch kind {
        case .trigger:
            if case .string(let id)? = v["trigger_id"] { known["t|" + id] = time("fired_at") }
        case .withheld:
            if case .string(let id)? = v["trigger_id"] { known["w|" + id] = time("fired_at") }
        case .conversion:
            if case .string(let id)? = v["trigger_id"], case .string(let order)? = v["order_id"] {
                known["c|\(id)|\(order)"] = time("converted_at")
            }
        case .deadLetter:
            if case .string(let topic)? = v["source"]?["topic"], case .number(let p)? = v["source"]?["partition"],
                case .number(let o)? = v["source"]?["offset"]
            {
                known["d|\(topic)|\(Int32(p))|\(Int64(o))"] = .max
            }
        }
    }

    /// True if the output is already on its topic (and forgets it: it will not come again).
    mutating func alreadyProduced(_ key: String?) -> Bool {
        guard let key, known.removeValue(forKey: key) != nil else { return false }
        suppressed += 1
        return true
    }

    /// Forgets outputs timed before `t`: every task here has folded past it, so none of them will
    /// derive such an output again (they belonged to tasks elsewhere, or to history re-derived).
    mutating func forget(before t: Millis) { known = known.filter { $0.value >= t } }

    /// Forgets dead letters: every recovering task has re-read its inputs.
    mutating func forgetDeadLetters() { known = known.filter { !$0.key.hasPrefix("d|") } }

    mutating func absorb(_ other: OutputLedger) { known.merge(other.known) { a, _ in a } }

    public enum OutputKind: Sendable { case trigger, conversion, deadLetter, withheld }
}

extension OutputLedger {
    /// Reads the given output partitions from the given offsets to their current end.
    static func read(_ starts: [(topic: String, kind: OutputKind, partition: Int32, offset: Int64)],
                     kafka: [String: String]) throws -> OutputLedger {
        var ledger = OutputLedger()
        guard !starts.isEmpty else { return ledger }
        var props = ["group.id": "rekindle-recovery-\(UUID().uuidString)", "fetch.wait.max.ms": "10"]
        props.merge(kafka) { _, user in user }
        let consumer = try Consumer(props, fromBeginning: false)
        defer { consumer.close() }
        var kinds: [String: OutputKind] = [:]
        for s in starts { kinds[s.topic] = s.kind }
        try consumer.readToEnd(starts.map { TopicPartitionOffset(TopicPartition($0.topic, $0.partition), offset: $0.offset) }) { m in
            ledger.learn(m.value, kind: kinds[m.topicPartition.topic]!)
        }
        return ledger
    }
}

import Foundation
import RekindleCore
import RekindleKafka

/// Where `rekindle replay` writes when asked for topics instead of files: every topic named by its
/// own flag (there is no default, so the live `campaign-*` topics are written only when someone
/// names them), each message as a live run writes it (JSON value; key `customer_id`, a dead
/// letter's unkeyed), in the order the file replay writes its lines.
public struct ReplayOutputTopics: Sendable {
    public var bootstrap: String
    public var kafka: [String: String] = [:]
    public var triggers: String
    public var conversions: String
    public var deadLetters: String
    /// Needed when the rules can withhold (experiments, a policy) or a touch was withheld.
    public var withheld: String?

    public init(bootstrap: String, triggers: String, conversions: String, deadLetters: String, withheld: String? = nil) {
        self.bootstrap = bootstrap
        self.triggers = triggers
        self.conversions = conversions
        self.deadLetters = deadLetters
        self.withheld = withheld
    }

    var named: [(flag: String, topic: String)] {
        var list = [("--triggers-topic", triggers), ("--conversions-topic", conversions), ("--dead-letters-topic", deadLetters)]
        if let withheld { list.append(("--withheld-topic", withheld)) }
        return list
    }

    /// Refuses, before anything is read: two outputs on one topic, an output that is an input
    /// topic being read (`reading`, or the default input names), and a topic the cluster lacks
    /// (a producer would wait minutes on it).
    public func check(reading: TopicNames?) throws {
        let inputs = (reading ?? TopicNames()).inputs
        var seen: [String: String] = [:]
        for (flag, topic) in named {
            if inputs.contains(topic) { throw TopicReplayError("\(flag): \"\(topic)\" is an input topic: writing it would feed the replay's output back in") }
            if let other = seen[topic] { throw TopicReplayError("\(flag): \"\(topic)\" is also where \(other) goes") }
            seen[topic] = flag
        }
        let consumer = try Consumer(properties(), fromBeginning: false)
        defer { consumer.close() }
        let counts = try consumer.partitionCounts(named.map(\.topic))
        for (flag, topic) in named where (counts[topic] ?? nil) == nil {
            throw TopicReplayError("\(flag): topic \"\(topic)\" does not exist on the broker; create it first (`rekindle broker --topic \(topic)` on the embedded one)")
        }
    }

    /// Produces the replay's outputs and waits for every delivery. A withheld touch with no topic
    /// named for it fails before anything is produced.
    public func write(_ result: Replay.Result, rules: RuleSet, writesWithheld: Bool, progress: Progress?) throws {
        if withheld == nil && (writesWithheld || !result.withheld.isEmpty) {
            let why = result.withheld.isEmpty ? "the rules can withhold touches (experiments or a policy)" : "\(result.withheld.count) touches were withheld"
            throw TopicReplayError("--withheld-topic: \(why); name a topic for them")
        }
        let producer = try Producer(properties())
        var sent = 0
        func send(_ topic: String, key: [UInt8]?, _ value: [UInt8]) throws {
            try producer.produce(topic: topic, key: key, value: value)
            sent += 1
            if sent % 10_000 == 0 {
                producer.poll()
                progress?.update("produced \(sent) messages")
            }
        }
        for t in result.triggers { try send(triggers, key: Array(t.customerId.utf8), t.json) }
        for c in result.conversions { try send(conversions, key: Array(c.customerId.utf8), c.json) }
        for d in result.deadLetters { try send(deadLetters, key: nil, d.json) }
        if let withheld {
            for t in result.withheld { try send(withheld, key: Array(t.customerId.utf8), t.json) }
        }
        try producer.flush(timeoutMs: 120_000)
        progress?.finish()
    }

    func properties() -> [String: String] {
        var props = ["bootstrap.servers": bootstrap]
        props.merge(kafka) { _, user in user }
        return props
    }
}

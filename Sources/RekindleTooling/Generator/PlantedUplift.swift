import RekindleCore

/// Plants a known causal effect of sent touches in a generated stream, so that the back-test's lift
/// (spec 7.2) can be checked against the truth: for each chosen rule, a customer whose first touch
/// of it is sent (not withheld) buys within its conversion window with a probability `points`
/// higher than without the touch; a withheld touch changes nothing.
///
/// It folds the stream under the rules once to find each customer's first touch of the rule and
/// whether they bought in its window anyway. Among the treated customers who did not, it adds a
/// completed order inside the window with probability `points / (1 - p)`, `p` the treated
/// customers' own rate without the effect, so that the treated rate rises by `points` in
/// expectation and the control rate not at all. The added purchase comes after the first touch,
/// so no first touch moves (an event never changes what fired before it).
public struct PlantedUplift {
    public var rules: RuleSet
    /// Rule id to the planted rise in the probability of a purchase in the window (0 to 1).
    public var uplift: [String: Double]
    public var seed: UInt64

    public init(rules: RuleSet, uplift: [String: Double], seed: UInt64) {
        self.rules = rules
        self.uplift = uplift
        self.seed = seed
    }

    /// What was planted, per rule: treated customers, those who bought anyway, purchases added.
    public struct Planted: Sendable, Equatable {
        public var treated = 0
        public var boughtAnyway = 0
        public var added = 0
    }

    /// The lines (generator output, in time order) with the planted purchases merged in by time;
    /// lines that are not events keep their place after the line before them.
    public func plant(_ lines: [String]) -> (lines: [String], planted: [String: Planted]) {
        var events: [(line: Int, event: Event)] = []
        for (k, line) in lines.enumerated() {
            if case .success(let e) = EventDecoder.decode(line) { events.append((k, e)) }
        }
        let sorted = events.sorted { ($0.event.occurredAt, $0.line) < ($1.event.occurredAt, $1.line) }
        var task = CampaignTask(rules: rules)
        var out: [Output] = []
        for (_, e) in sorted { task.apply(e, into: &out) }
        if let last = sorted.last { task.advance(to: last.event.occurredAt, into: &out) }

        // Each customer's first sent touch of each chosen rule.
        var first: [String: [String: Trigger]] = [:]
        var withheldFirst: [String: Set<String>] = [:]
        for o in out {
            switch o {
            case .trigger(let t) where uplift[t.ruleId] != nil:
                if first[t.ruleId]?[t.customerId] == nil && withheldFirst[t.ruleId]?.contains(t.customerId) != true {
                    first[t.ruleId, default: [:]][t.customerId] = t
                }
            case .withheld(let t) where uplift[t.ruleId] != nil:
                if first[t.ruleId]?[t.customerId] == nil { withheldFirst[t.ruleId, default: []].insert(t.customerId) }
            default: break
            }
        }
        var completions: [String: [Millis]] = [:]
        for (_, e) in sorted {
            if case .order(let o) = e.body, o.status == .completed { completions[e.customerId, default: []].append(e.occurredAt) }
        }

        var added: [(at: Millis, line: String)] = []
        var planted: [String: Planted] = [:]
        for rule in uplift.keys.sorted() {
            // In trigger id order: the draws do not depend on a dictionary's order.
            let touches = (first[rule] ?? [:]).values.sorted { $0.triggerId < $1.triggerId }
            var p = Planted()
            var notYet: [Trigger] = []
            for t in touches {
                p.treated += 1
                let end = t.firedAt + Millis(t.conversionWindowDays) * millisPerDay
                if completions[t.customerId, default: []].contains(where: { $0 > t.firedAt && $0 <= end }) {
                    p.boughtAnyway += 1
                } else {
                    notYet.append(t)
                }
            }
            let base = p.treated > 0 ? Double(p.boughtAnyway) / Double(p.treated) : 0
            let chance = base < 1 ? min(1, uplift[rule]! / (1 - base)) : 0
            for t in notYet {
                var rng = SplitMix64(seed: seed, stream: 0x75_706c_6966_74, index: UInt64(truncatingIfNeeded: Self.hash(t.triggerId)))
                guard Double.random(in: 0..<1, using: &rng) < chance else { continue }
                // Somewhere in the window's first six days (the window is at least a day long).
                let span = max(Millis(1), min(Millis(t.conversionWindowDays) * millisPerDay - millisPerHour, 6 * millisPerDay))
                let at = t.firedAt + millisPerHour / 2 + Millis.random(in: 0..<span, using: &rng)
                let id = "uplift-\(t.triggerId.prefix(12))"
                let total = Double(Int.random(in: 2_000...12_000, using: &rng)) / 100
                added.append((at, #"{"type":"order","event_id":"\#(id)","customer_id":\#(JSONWriter.quoted(t.customerId)),"order_id":"\#(id)","status":"completed","occurred_at":"\#(Timestamp.format(at))","total":\#(JSONWriter.number(total))}"#))
                p.added += 1
            }
            planted[rule] = p
        }
        return (Self.merge(lines, events.map { ($0.line, $0.event.occurredAt) }, added), planted)
    }

    static func hash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }

    /// The lines with `added` merged in by time (after the lines of the same instant).
    static func merge(_ lines: [String], _ times: [(line: Int, at: Millis)], _ added: [(at: Millis, line: String)]) -> [String] {
        var timeOf = [Millis](repeating: .min, count: lines.count)
        for (k, t) in times { timeOf[k] = t }
        for k in timeOf.indices.dropFirst() where timeOf[k] == .min { timeOf[k] = timeOf[k - 1] }
        let extra = added.sorted { $0.at < $1.at }
        var merged: [String] = []
        merged.reserveCapacity(lines.count + extra.count)
        var j = 0
        for (k, line) in lines.enumerated() {
            while j < extra.count && extra[j].at < timeOf[k] {
                merged.append(extra[j].line)
                j += 1
            }
            merged.append(line)
        }
        merged.append(contentsOf: extra[j...].map(\.line))
        return merged
    }
}

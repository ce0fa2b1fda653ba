import RekindleCore

/// One rule set folded over the history as the back-test runs it: the tasks of `partitions`
/// (customers split as `replay --partitions` splits them), fed events in `occurred_at` order, in
/// one thread. Keeps what the report needs of the outputs, not the outputs: each trigger as a
/// `Touch` (each customer's in firing order, since a customer's touches all come from one task)
/// (in a `TouchLog`) and the per-rule counts of `BacktestReport.Counter`, the replay's own.
struct RuleSetFold {
    let rules: RuleSet
    let partitioner: Partitioner
    private(set) var tasks: [CampaignTask]
    private(set) var touches = TouchLog()
    private(set) var counter: BacktestReport.Counter
    /// Order events the fold refused (spec 2: a total that would overflow), as dead letters.
    private(set) var refused: [DeadLetter] = []
    private(set) var folded = 0
    /// Per rule, the customers of the touches the caps withheld (spec 7.3), once per touch: with the
    /// sent touches, the pressure the rules would have put on customers without the caps.
    private(set) var capped: [Int: [String]] = [:]
    private let ruleIndex: [String: Int]
    private var out: [Output] = []

    init(rules: RuleSet, partitions: Int, partitioner: Partitioner) {
        self.rules = rules
        self.partitioner = partitioner
        tasks = (0..<partitions).map { _ in CampaignTask(rules: rules) }
        counter = BacktestReport.Counter(rules: rules)
        ruleIndex = Dictionary(rules.rules.enumerated().map { ($1.id, $0) }) { _, last in last }
    }

    mutating func fold(_ events: [SourcedEvent]) {
        for e in events {
            let k = tasks.count == 1 ? 0 : partitioner.partition(e.event.customerId, count: tasks.count)
            if tasks[k].fold(e, into: &out, refused: &refused) { folded += 1 }
        }
        keep()
    }

    /// Advances every task to `end` (the history's last event, so a timer due then fires) and
    /// returns the replay's report of the fold, with `badLines` read that were not events.
    mutating func finish(at end: Millis, badLines: Int) -> BacktestReport {
        if end != Millis.min {
            for k in tasks.indices { tasks[k].advance(to: end, into: &out) }
        }
        keep()
        counter.countEvents(folded: folded)
        counter.countBadInputs(badLines + refused.count)
        return counter.report(tasks: tasks.map(\.stats), watermark: end, lift: tasks.map(\.lift))
    }

    private mutating func keep() {
        for o in out {
            counter.count(o)
            // Only sent touches are touches: a withheld one reached nobody (spec 7.1).
            if case .trigger(let t) = o, let r = ruleIndex[t.ruleId] { touches.append(Touch(t, rule: r)) }
            if case .withheld(let t) = o, t.withheld == .cap, let r = ruleIndex[t.ruleId] { capped[r, default: []].append(t.customerId) }
        }
        out.removeAll(keepingCapacity: true)
    }
}

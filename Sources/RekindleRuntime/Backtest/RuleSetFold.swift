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
    private var out: [Output] = []
    /// The origins of the outputs `keep` counts, taken from their task's journal.
    private var origins: [CampaignTask.OutputOrigin] = []

    init(rules: RuleSet, partitions: Int, partitioner: Partitioner) {
        self.rules = rules
        self.partitioner = partitioner
        tasks = (0..<partitions).map { _ in
            var task = CampaignTask(rules: rules)
            task.journalsOrigins = true
            return task
        }
        counter = BacktestReport.Counter(rules: rules)
    }

    /// A customer life's number across the tasks: its number in task `k`, interleaved.
    private func life(_ customer: Int32, task k: Int) -> Int { Int(customer) * tasks.count + k }

    /// Events are read in place (`events[i]`), not bound one by one: a batch is shared by every
    /// rule set's thread, and copying each event out retained its strings from all of them.
    mutating func fold(_ events: [SourcedEvent]) {
        for i in events.indices {
            let k = tasks.count == 1 ? 0 : partitioner.partition(events[i].event.customerId, count: tasks.count)
            let (taken, erased) = tasks[k].foldNotingErasure(events[i], into: &out, refused: &refused)
            if taken { folded += 1 }
            keep(k)
            // What fired before the erasure is counted as the customer's; then its marks move to its id.
            if let erased { counter.erased(customer: life(Int32(erased), task: k), id: events[i].event.customerId) }
        }
    }

    /// Advances every task to `end` (the history's last event, so a timer due then fires) and
    /// returns the replay's report of the fold, with `badLines` read that were not events.
    mutating func finish(at end: Millis, badLines: Int) -> BacktestReport {
        if end != Millis.min {
            for k in tasks.indices {
                tasks[k].advance(to: end, into: &out)
                keep(k)
            }
        }
        touches.index()
        counter.countEvents(folded: folded)
        counter.countBadInputs(badLines + refused.count)
        return counter.report(tasks: tasks.map(\.stats), watermark: end, lift: tasks.map(\.lift))
    }

    /// Counts and logs the outputs task `k` just appended, by the origins it journalled beside
    /// them (the customer's number and the rule's index: no lookup by id).
    private mutating func keep(_ k: Int) {
        guard !out.isEmpty else { return }
        tasks[k].takeOrigins(count: out.count, into: &origins)
        for (o, origin) in zip(out, origins) {
            let rule = Int(origin.rule)
            switch o {
            case .trigger(let t):
                let customer = life(origin.customer, task: k)
                counter.count(o, customer: customer, rule: rule)
                // Only sent touches are touches: a withheld one reached nobody (spec 7.1).
                touches.append(Touch(t, rule: rule), customer: customer)
            case .withheld(let t):
                counter.count(o, rule: rule)
                if t.withheld == .cap { capped[rule, default: []].append(t.customerId) }
            case .conversion:
                counter.count(o, rule: rule)
            }
        }
        out.removeAll(keepingCapacity: true)
    }
}

import RekindleCore

extension BacktestReport {
    /// The one place a report is counted. The sorting replay, the streaming replay and the live
    /// runner each feed it the outputs they emit, the events they fold and the bad inputs they
    /// dead-letter, and take the report from it at the end, so the three cannot count apart.
    public struct Counter: Sendable {
        private var report: BacktestReport
        /// Rule line by rule id, and the customers each rule reached so far: the first 64 rules
        /// as bits of one entry per customer (a set of ids per rule held each customer once per
        /// rule that reached it), any further rule in a set of its own.
        private let index: [String: Int]
        private var reached: [String: UInt64] = [:]
        private var reachedBeyond: [Set<String>]
        /// The same bits by the customer's number in its task, for a counter fed by one task's
        /// fold with the numbers (`count(_:customer:)`): 8 bytes per customer where an entry of
        /// `reached` took about 50 at 1M customers (`rekindle bench state`). A customer erased
        /// has its bits moved to `reached` under its id (`erased`), and takes them back when it
        /// returns under a new number, so it is counted once per rule as by id.
        private var reachedByNumber: [UInt64] = []

        public init(rules: RuleSet) {
            report = BacktestReport(rules: rules)
            index = Dictionary(report.lines.enumerated().map { ($1.ruleId, $0) }) { _, last in last }
            reachedBeyond = [Set<String>](repeating: [], count: max(0, report.lines.count - 64))
        }

        /// One output, as it is emitted. Revenue is summed in the order given, so the same
        /// conversions in the same order give the same bytes.
        ///
        /// `customer`: a number for a trigger's customer, one per customer life in everything
        /// counted (its number in the one task that emitted every output, or a number made of
        /// the task's and its number in it; `nil` for the other outputs); a counter is fed
        /// numbers always or never. `rule`: the output's rule index in the rule set, when the
        /// caller has it (`CampaignTask.origins`), saving a lookup by id.
        public mutating func count(_ output: Output, customer: Int? = nil, rule: Int? = nil) {
            switch output {
            case .trigger(let t):
                guard let i = rule ?? index[t.ruleId] else { return }
                report.lines[i].triggers += 1
                let first: Bool
                if i < 64, let c = customer {
                    if c >= reachedByNumber.count {
                        // Grown by a quarter, not doubled: numbers come about in order, one each.
                        let n = max(c + 1, reachedByNumber.count + reachedByNumber.count / 4)
                        reachedByNumber.reserveCapacity(n)
                        reachedByNumber.append(contentsOf: repeatElement(0, count: n - reachedByNumber.count))
                    }
                    if !reached.isEmpty, let before = reached.removeValue(forKey: t.customerId) { reachedByNumber[c] |= before }
                    let bit: UInt64 = 1 << UInt64(i)
                    first = reachedByNumber[c] & bit == 0
                    reachedByNumber[c] |= bit
                } else if i < 64 {
                    let bit: UInt64 = 1 << UInt64(i)
                    first = reached[t.customerId, default: 0] & bit == 0
                    if first { reached[t.customerId, default: 0] |= bit }
                } else {
                    first = reachedBeyond[i - 64].insert(t.customerId).inserted
                }
                if first { report.lines[i].customers += 1 }
            case .conversion(let c):
                guard let i = rule ?? index[c.ruleId] else { return }
                report.lines[i].conversions += 1
                report.lines[i].revenue += c.revenue
            case .withheld(let t):
                guard let i = rule ?? index[t.ruleId], let reason = t.withheld else { return }
                report.lines[i].withheld[reason, default: 0] += 1
            }
        }

        /// Customer number `customer` (of a counter fed numbers) was erased as `id`: its number
        /// reaches no one again, and `id` may come back under another.
        public mutating func erased(customer: Int, id: String) {
            guard customer < reachedByNumber.count, reachedByNumber[customer] != 0 else { return }
            reached[id, default: 0] |= reachedByNumber[customer]
            reachedByNumber[customer] = 0
        }

        /// Events read: `folded` taken by the fold, `afterUntil` past `--until` and not folded.
        /// Both are the report's events; an event the fold refused is a bad input instead.
        public mutating func countEvents(folded: Int, afterUntil: Int = 0) {
            report.events += folded + afterUntil
            report.afterUntil += afterUntil
        }

        /// Inputs dead-lettered: lines or messages that are not events, and events the fold refused.
        public mutating func countBadInputs(_ count: Int) {
            report.badInputs += count
        }

        /// The report of everything counted, with the late and ignored events of `tasks` (one
        /// per partition) and the time they reached (`.min`: none).
        public func report(tasks: [TaskStats], watermark: Millis, lift: [[LiftCounts]] = []) -> BacktestReport {
            var r = report
            if r.experiment != nil {
                for counts in lift {
                    for (k, c) in counts.enumerated() where k < r.lines.count { r.lines[k].lift = (r.lines[k].lift ?? LiftCounts()) + c }
                }
            }
            r.partitions = tasks.count
            r.lateEvents = tasks.reduce(0) { $0 + $1.lateEvents }
            r.ignoredOrderEvents = tasks.reduce(0) { $0 + $1.ignoredOrderEvents }
            r.watermark = watermark == .min ? nil : watermark
            return r
        }
    }
}

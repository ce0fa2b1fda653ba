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

        public init(rules: RuleSet) {
            report = BacktestReport(rules: rules)
            index = Dictionary(report.lines.enumerated().map { ($1.ruleId, $0) }) { _, last in last }
            reachedBeyond = [Set<String>](repeating: [], count: max(0, report.lines.count - 64))
        }

        /// One output, as it is emitted. Revenue is summed in the order given, so the same
        /// conversions in the same order give the same bytes.
        public mutating func count(_ output: Output) {
            switch output {
            case .trigger(let t):
                guard let i = index[t.ruleId] else { return }
                report.lines[i].triggers += 1
                let first: Bool
                if i < 64 {
                    let bit: UInt64 = 1 << UInt64(i)
                    first = reached[t.customerId, default: 0] & bit == 0
                    if first { reached[t.customerId, default: 0] |= bit }
                } else {
                    first = reachedBeyond[i - 64].insert(t.customerId).inserted
                }
                if first { report.lines[i].customers += 1 }
            case .conversion(let c):
                guard let i = index[c.ruleId] else { return }
                report.lines[i].conversions += 1
                report.lines[i].revenue += c.revenue
            case .withheld(let t):
                guard let i = index[t.ruleId], let reason = t.withheld else { return }
                report.lines[i].withheld[reason, default: 0] += 1
            }
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

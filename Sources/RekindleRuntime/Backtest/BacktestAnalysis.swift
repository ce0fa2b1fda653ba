import RekindleCore

/// What `rekindle backtest` answers (spec 7.4): per rule of the current rule set and, with
/// `--compare`, of the candidate folded over the same history, the reach, the pressure, the
/// conversions and revenue under four attribution models and the recommendation hit rate; and
/// whole-history analytics (cohorts, retention, repeat purchases, LTV, churn). Written as JSON
/// (`json`) and as a page (`BacktestHTML`).
public struct BacktestAnalysis: Sendable {
    /// One rule's numbers in one rule set (or their difference, candidate minus current).
    struct RuleMetrics: Sendable, Equatable {
        var triggers = 0
        var customers = 0
        var withheld = [Int](repeating: 0, count: WithheldReason.allCases.count)
        /// Triggers per customer reached per 30 days of the period.
        var messagesPerCustomer30d: Double?
        /// The same had the caps not withheld anything (sent and cap-withheld touches, per customer
        /// either reached); nil without caps in the rules.
        var messagesPerCustomer30dBeforeCaps: Double?
        /// By `AttributionModel.rawValue`.
        var conversions = [Double](repeating: 0, count: AttributionModel.allCases.count)
        var cents = [Int64](repeating: 0, count: AttributionModel.allCases.count)
        var recommending = 0
        var hits = 0
        /// The rule's experiment arms (spec 7.2) and its holdout share, when the rules have experiments.
        var lift: (counts: LiftCounts, holdout: Double)?

        /// Hits per trigger carrying recommendations (nil without such triggers); in a difference,
        /// the difference of the rates.
        var hitRate: Double?

        init() {}

        init(triggers: Int, customers: Int, credit: RuleCredit, months30: Double) {
            self.triggers = triggers
            self.customers = customers
            messagesPerCustomer30d = customers > 0 && months30 > 0 ? Double(triggers) / Double(customers) / months30 : nil
            conversions = credit.conversions
            cents = credit.cents
            recommending = credit.recommending
            hits = credit.hits
            hitRate = recommending == 0 ? nil : Double(hits) / Double(recommending)
        }

        /// `candidate - current`; a rule missing on one side counts as firing nothing there.
        static func difference(_ candidate: RuleMetrics?, _ current: RuleMetrics?) -> RuleMetrics {
            let b = candidate ?? RuleMetrics(), a = current ?? RuleMetrics()
            var d = RuleMetrics()
            d.triggers = b.triggers - a.triggers
            d.customers = b.customers - a.customers
            d.withheld = zip(b.withheld, a.withheld).map { $0 - $1 }
            d.messagesPerCustomer30d = (b.messagesPerCustomer30d ?? 0) - (a.messagesPerCustomer30d ?? 0)
            if a.messagesPerCustomer30dBeforeCaps != nil || b.messagesPerCustomer30dBeforeCaps != nil {
                d.messagesPerCustomer30dBeforeCaps = (b.messagesPerCustomer30dBeforeCaps ?? b.messagesPerCustomer30d ?? 0)
                    - (a.messagesPerCustomer30dBeforeCaps ?? a.messagesPerCustomer30d ?? 0)
            }
            d.conversions = zip(b.conversions, a.conversions).map { $0 - $1 }
            d.cents = zip(b.cents, a.cents).map { $0 - $1 }
            d.recommending = b.recommending - a.recommending
            d.hits = b.hits - a.hits
            d.hitRate = b.hitRate.flatMap { rb in a.hitRate.map { rb - $0 } }
            return d
        }

        static func == (a: RuleMetrics, b: RuleMetrics) -> Bool {
            a.triggers == b.triggers && a.customers == b.customers && a.withheld == b.withheld
                && a.messagesPerCustomer30d == b.messagesPerCustomer30d
                && a.messagesPerCustomer30dBeforeCaps == b.messagesPerCustomer30dBeforeCaps && a.conversions == b.conversions && a.cents == b.cents
                && a.recommending == b.recommending && a.hits == b.hits && a.hitRate == b.hitRate
                && a.lift?.counts == b.lift?.counts && a.lift?.holdout == b.lift?.holdout
        }
    }

    /// One rule set's side of the report.
    struct Side: Sendable {
        var rulesVersion: String
        var rulesFileVersion: String
        var hasChurnModel: Bool
        /// The replay's own report of the fold (late and ignored events, and the topic's counts).
        var report: BacktestReport
        var rules: [String: RuleMetrics] = [:]
        var total = RuleMetrics()
        var purchasesCredited = 0
        /// Triggers per calendar month.
        var triggersByMonth: [CalendarMonth: Int] = [:]

        init(
            rules ruleSet: RuleSet, report: BacktestReport, touches: TouchLog, attribution: Attribution, months30: Double,
            capped: [Int: [String]] = [:]
        ) {
            rulesVersion = ruleSet.hash
            rulesFileVersion = ruleSet.version
            hasChurnModel = ChurnCheck.model(of: ruleSet) != nil
            self.report = report
            triggersByMonth = touches.byMonth
            var total = RuleCredit()
            // With caps: each rule's customers reached by a sent or a capped touch, in one pass.
            let hasCaps = ruleSet.policy?.caps.isEmpty == false
            var reachedBeforeCaps = [Set<String>](repeating: [], count: hasCaps ? ruleSet.rules.count : 0)
            if hasCaps {
                for t in touches.touches { reachedBeforeCaps[Int(t.rule)].insert(t.customerId) }
                for (k, list) in capped { reachedBeforeCaps[k].formUnion(list) }
            }
            for (k, rule) in ruleSet.rules.enumerated() {
                let line = report.lines[k]
                let credit = attribution.rules[k]
                var metrics = RuleMetrics(triggers: line.triggers, customers: line.customers, credit: credit, months30: months30)
                metrics.withheld = WithheldReason.allCases.map { line.withheld[$0] ?? 0 }
                metrics.lift = line.lift.map { ($0, line.holdout) }
                if hasCaps {
                    let reached = reachedBeforeCaps[k].count, sent = line.triggers + (capped[k]?.count ?? 0)
                    metrics.messagesPerCustomer30dBeforeCaps = reached == 0 || months30 <= 0 ? nil : Double(sent) / Double(reached) / months30
                }
                rules[rule.id] = metrics
                for m in AttributionModel.allCases {
                    total.conversions[m.rawValue] += credit.conversions[m.rawValue]
                    total.cents[m.rawValue] += credit.cents[m.rawValue]
                }
                total.recommending += credit.recommending
                total.hits += credit.hits
            }
            self.total = RuleMetrics(triggers: report.totalTriggers, customers: touches.byCustomer.count, credit: total, months30: months30)
            self.total.withheld = WithheldReason.allCases.map { r in report.lines.reduce(0) { $0 + ($1.withheld[r] ?? 0) } }
            if hasCaps {
                var reached = Set(touches.byCustomer.keys)
                for list in capped.values { reached.formUnion(list) }
                let sent = report.totalTriggers + capped.values.reduce(0) { $0 + $1.count }
                self.total.messagesPerCustomer30dBeforeCaps =
                    reached.isEmpty || months30 <= 0 ? nil : Double(sent) / Double(reached.count) / months30
            }
            purchasesCredited = attribution.purchases
        }
    }

    /// One month of marketing pressure: triggers per customer seen by the month's end, per 30
    /// days of the month's part of the period.
    struct MonthPressure: Sendable {
        var month: CalendarMonth
        var customers: Int
        var current: Double?
        var candidate: Double?
    }

    var current: Side
    var candidate: Side?
    /// Rule ids: the current rule set's, then the candidate's own.
    var ruleIds: [String]
    var from: Millis
    var to: Millis
    var events: Int
    var badInputs: Int
    var customers: Int
    var partitions: Int
    var beyondRevenueLimit: Int
    var pressure: [MonthPressure]
    var cohorts: Cohorts
    var churn: [ChurnCheck]
    /// Why no churn section could be made when one was asked for (a fit the data refused).
    var churnNote: String?
    /// The churn calibration boundary (`--until`, or a rule set's model's `fitted_until`).
    var until: Millis?

    /// The period in 30-day months (at least a day's worth).
    static func months30(from: Millis, to: Millis) -> Double {
        Double(max(to - from, millisPerDay)) / Double(30 * millisPerDay)
    }

    init(
        current: Side, candidate: Side?, history: PurchaseHistory, cohorts: Cohorts, churn: [ChurnCheck], churnNote: String?,
        until: Millis?, badInputs: Int, partitions: Int
    ) {
        self.current = current
        self.candidate = candidate
        var ids = current.report.lines.map(\.ruleId)
        for id in candidate?.report.lines.map(\.ruleId) ?? [] where current.rules[id] == nil { ids.append(id) }
        ruleIds = ids
        from = history.first ?? 0
        to = history.last ?? 0
        events = history.events
        self.badInputs = badInputs
        customers = history.firstSeen.count
        self.partitions = partitions
        beyondRevenueLimit = history.beyondRevenueLimit
        self.cohorts = cohorts
        self.churn = churn
        self.churnNote = churnNote
        self.until = until
        let seen = history.firstSeen.sorted()
        var pressure: [MonthPressure] = []
        let (from, to) = (self.from, self.to)
        if history.first != nil {
            for month in CalendarMonth.span(from: from, to: to) {
                let end = min(month.next.start, to + 1)
                let months30 = Self.months30(from: max(month.start, from), to: end)
                // Customers first seen before the month's end (binary search of the sorted times).
                var low = 0, high = seen.count
                while low < high {
                    let mid = (low + high) / 2
                    if seen[mid] < end { low = mid + 1 } else { high = mid }
                }
                func rate(_ side: Side?) -> Double? {
                    guard let side, low > 0 else { return nil }
                    return Double(side.triggersByMonth[month] ?? 0) / Double(low) / months30
                }
                pressure.append(MonthPressure(month: month, customers: low, current: rate(current), candidate: rate(candidate)))
            }
        }
        self.pressure = pressure
    }

    /// A plain-text summary for a terminal: per rule, triggers, last-touch conversions and
    /// revenue, beside the candidate's with `--compare`.
    public var table: String {
        var rows: [[String]] = [["rule", "triggers", "conversions", "revenue"]]
        if candidate != nil { rows[0] += ["cand. triggers", "cand. conversions", "cand. revenue", "revenue change"] }
        let last = AttributionModel.lastTouch.rawValue
        func cells(_ m: RuleMetrics?) -> [String] {
            guard let m else { return ["-", "-", "-"] }
            return ["\(m.triggers)", "\(Int(m.conversions[last].rounded()))", BacktestAnalysis.money(m.cents[last])]
        }
        func row(_ name: String, _ a: RuleMetrics?, _ b: RuleMetrics?) -> [String] {
            var r = [name] + cells(a)
            if candidate != nil { r += cells(b) + [BacktestAnalysis.money(RuleMetrics.difference(b, a).cents[last], signed: true)] }
            return r
        }
        for id in ruleIds { rows.append(row(id, current.rules[id], candidate?.rules[id])) }
        rows.append(row("total", current.total, candidate?.total))
        let text = TextTable(rows)
        var out = ([text.lines[0], text.rule] + text.lines.dropFirst()).joined(separator: "\n") + "\n"
        out += "\(events) events, \(badInputs) bad inputs, \(customers) customers"
        out += events == 0 ? "; " : ", \(Timestamp.format(from)) to \(Timestamp.format(to)); "
        out += "conversions and revenue: last touch\n"
        return out
    }

    /// Cents as `1234.56` (`+`/`-` in front when `signed`).
    static func money(_ cents: Int64, signed: Bool = false) -> String {
        let m = cents.magnitude
        let frac = m % 100
        let sign = cents < 0 ? "-" : (signed && cents > 0 ? "+" : "")
        return "\(sign)\(m / 100).\(frac < 10 ? "0" : "")\(frac)"
    }
}

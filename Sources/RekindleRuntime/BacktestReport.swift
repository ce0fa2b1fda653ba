import Foundation
import RekindleCore

/// What a replay would have done, per rule: triggers, customers, conversions and revenue.
/// Counted by `BacktestReport.Counter`, the same way on every path.
public struct BacktestReport: Sendable {
    public struct RuleLine: Sendable, Equatable {
        public var ruleId: String
        public var triggers = 0
        public var customers = 0
        public var conversions = 0
        public var revenue = 0.0
        /// Touches withheld, by reason (spec 7.1).
        public var withheld: [WithheldReason: Int] = [:]
        /// The experiment's arms (spec 7.2), when the rules have experiments.
        public var lift: LiftCounts?
        /// The rule's holdout share (0: no control group).
        public var holdout = 0.0
    }

    public var rulesVersion: String
    public var rulesFileVersion: String
    public var lines: [RuleLine]
    public var events = 0
    public var badInputs = 0
    public var lateEvents = 0
    public var ignoredOrderEvents = 0
    public var afterUntil = 0
    public var partitions = 1
    public var watermark: Millis?
    /// The experiment's name, when the rules have one.
    public var experiment: String?

    public init(rules: RuleSet) {
        rulesVersion = rules.hash
        rulesFileVersion = rules.version
        lines = rules.rules.map { RuleLine(ruleId: $0.id) }
        if let e = rules.experiments {
            experiment = e.name
            for k in lines.indices {
                lines[k].lift = LiftCounts()
                lines[k].holdout = e.holdout[k]
            }
        }
    }

    public var totalWithheld: Int { lines.reduce(0) { $0 + $1.withheld.values.reduce(0, +) } }

    public var totalTriggers: Int { lines.reduce(0) { $0 + $1.triggers } }
    public var totalConversions: Int { lines.reduce(0) { $0 + $1.conversions } }
    public var totalRevenue: Double { lines.reduce(0) { $0 + $1.revenue } }

    static func money(_ d: Double) -> String {
        let cents = (d * 100).rounded()
        let whole = Int64(cents / 100)
        let frac = Int64(abs(cents).truncatingRemainder(dividingBy: 100))
        return "\(whole).\(frac < 10 ? "0" : "")\(frac)"
    }

    /// A plain-text table for a terminal.
    public var table: String {
        var rows: [[String]] = [["rule", "triggers", "customers", "conversions", "conv. rate", "revenue"]]
        func rate(_ c: Int, _ t: Int) -> String {
            guard t > 0 else { return "-" }
            let r = (Double(c) / Double(t) * 1000).rounded() / 10
            return "\(r)%"
        }
        for l in lines {
            rows.append([l.ruleId, "\(l.triggers)", "\(l.customers)", "\(l.conversions)",
                         rate(l.conversions, l.triggers), BacktestReport.money(l.revenue)])
        }
        rows.append(["total", "\(totalTriggers)", "", "\(totalConversions)",
                     rate(totalConversions, totalTriggers), BacktestReport.money(totalRevenue)])
        let text = TextTable(rows)
        var out = [text.lines[0], text.rule] + text.lines.dropFirst().dropLast()
        out.append(text.rule)
        out.append(text.lines.last!)
        var summary = "events \(events), bad inputs \(badInputs), late \(lateEvents), ignored order events \(ignoredOrderEvents)"
        if afterUntil > 0 { summary += ", after --until \(afterUntil)" }
        summary += "; partitions \(partitions); rules \(rulesFileVersion) (\(rulesVersion))"
        if let watermark { summary += "; watermark \(Timestamp.format(watermark))" }
        out.append(summary)
        if experiment != nil || totalWithheld > 0 { out.append(contentsOf: experimentTable) }
        return out.joined(separator: "\n") + "\n"
    }

    /// Whether the report has withheld touches or experiment arms to show (without, its bytes are
    /// those of releases before experiments).
    var showsExperiments: Bool { experiment != nil || totalWithheld > 0 }

    static func percent(_ d: Double) -> String { String(format: "%.2f%%", d * 100) }
    /// A difference of two rates, in percentage points.
    static func points(_ d: Double) -> String { String(format: "%+.2f pp", d * 100) }

    /// Withheld touches and each rule's lift (spec 7.2), as lines of text.
    var experimentTable: [String] {
        var out = ["", "experiment \(experiment.map { JSONWriter.quoted($0) } ?? "(none)"): withheld touches and lift by rule"]
        for l in lines {
            let withheld = WithheldReason.allCases.compactMap { r in l.withheld[r].map { "\(r.rawValue) \($0)" } }
            var line = "\(l.ruleId): withheld \(withheld.isEmpty ? "0" : withheld.joined(separator: ", "))"
            if let lift = l.lift {
                line += "; treated \(lift.treated.converted)/\(lift.treated.customers), control \(lift.control.converted)/\(lift.control.customers)"
                if let e = LiftEstimate(lift) {
                    line += "; rates \(Self.percent(e.treatedRate)) vs \(Self.percent(e.controlRate)), lift \(Self.points(e.absolute))"
                    if let r = e.relative { line += " (\(String(format: "%+.1f%%", r * 100)) relative)" }
                    if let i = e.interval, let p = e.pValue {
                        line += ", 95% CI \(Self.points(i.lower)) to \(Self.points(i.upper)), p = \(String(format: "%.4g", p))"
                    } else if let note = e.note {
                        line += ", \(note)"
                    }
                    line += ", incremental revenue per treated customer \(Self.money(e.incrementalRevenuePerTreated))"
                } else if l.holdout == 0 {
                    line += "; no holdout"
                }
            }
            out.append(line)
        }
        return out
    }

    public var json: [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("rules_version"); w.string(rulesVersion)
        w.key("rules_file_version"); w.string(rulesFileVersion)
        w.key("partitions"); w.int(partitions)
        w.key("watermark")
        if let watermark { w.time(watermark) } else { w.null() }
        w.key("events"); w.int(events)
        w.key("bad_inputs"); w.int(badInputs)
        w.key("late_events"); w.int(lateEvents)
        w.key("ignored_order_events"); w.int(ignoredOrderEvents)
        w.key("after_until"); w.int(afterUntil)
        w.key("rules")
        w.beginArray()
        for l in lines {
            w.beginObject()
            w.key("rule_id"); w.string(l.ruleId)
            w.key("triggers"); w.int(l.triggers)
            w.key("customers"); w.int(l.customers)
            w.key("conversions"); w.int(l.conversions)
            w.key("revenue"); w.double(l.revenue)
            if showsExperiments { writeExperiment(l, &w) }
            w.endObject()
        }
        w.endArray()
        w.key("totals")
        w.beginObject()
        w.key("triggers"); w.int(totalTriggers)
        w.key("conversions"); w.int(totalConversions)
        w.key("revenue"); w.double(totalRevenue)
        if showsExperiments { w.key("withheld"); w.int(totalWithheld) }
        w.endObject()
        if let experiment { w.key("experiment"); w.string(experiment) }
        w.endObject()
        return w.bytes
    }

    /// A rule's withheld touches by reason and its lift (spec 7.2), in its JSON line.
    private func writeExperiment(_ l: RuleLine, _ w: inout JSONWriter) {
        w.key("withheld")
        w.beginObject()
        for r in WithheldReason.allCases { w.key(r.rawValue); w.int(l.withheld[r] ?? 0) }
        w.endObject()
        guard let lift = l.lift else { return }
        w.key("lift")
        Self.writeLift(lift, holdout: l.holdout, &w)
    }

    /// A rule's lift object (spec 7.2): both arms, the rates, the lift with its interval and
    /// p-value, and the incremental revenue per treated customer.
    static func writeLift(_ lift: LiftCounts, holdout: Double, _ w: inout JSONWriter) {
        w.beginObject()
        w.key("holdout"); w.double(holdout)
        for (name, arm) in [("treated", lift.treated), ("control", lift.control)] {
            w.key(name)
            w.beginObject()
            w.key("customers"); w.int(arm.customers)
            w.key("converted"); w.int(arm.converted)
            w.key("revenue"); w.double(arm.revenue)
            w.endObject()
        }
        let e = LiftEstimate(lift)
        w.key("treated_rate"); if let e { w.double(e.treatedRate) } else { w.null() }
        w.key("control_rate"); if let e { w.double(e.controlRate) } else { w.null() }
        w.key("absolute_lift"); if let e { w.double(e.absolute) } else { w.null() }
        w.key("relative_lift"); if let r = e?.relative { w.double(r) } else { w.null() }
        w.key("ci95")
        if let i = e?.interval {
            w.beginArray(); w.double(i.lower); w.double(i.upper); w.endArray()
        } else {
            w.null()
        }
        w.key("p_value"); if let p = e?.pValue { w.double(p) } else { w.null() }
        w.key("incremental_revenue_per_treated"); if let e { w.double(e.incrementalRevenuePerTreated) } else { w.null() }
        w.key("note")
        if let note = e?.note { w.string(note) } else if e == nil { w.string(lift.control.customers == 0 ? "no control customers" : "no treated customers") } else { w.null() }
        w.endObject()
    }
}

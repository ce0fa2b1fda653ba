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

    public init(rules: RuleSet) {
        rulesVersion = rules.hash
        rulesFileVersion = rules.version
        lines = rules.rules.map { RuleLine(ruleId: $0.id) }
    }

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
        return out.joined(separator: "\n") + "\n"
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
            w.endObject()
        }
        w.endArray()
        w.key("totals")
        w.beginObject()
        w.key("triggers"); w.int(totalTriggers)
        w.key("conversions"); w.int(totalConversions)
        w.key("revenue"); w.double(totalRevenue)
        w.endObject()
        w.endObject()
        return w.bytes
    }
}

import RekindleCore

extension BacktestAnalysis {
    /// The report for machines (`--report FILE.json`, schemas/backtest-report.schema.json), one
    /// line. Money is given both as a number with two decimals (`revenue`) and exactly, in
    /// integer cents (`revenue_cents`). Every rule row has `current`, `candidate` and
    /// `difference` (candidate minus current); without `--compare` the last two are null.
    public var json: [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("report"); w.string("rekindle-backtest")
        w.key("format"); w.int(1)
        w.key("period")
        if events == 0 {
            w.null()
        } else {
            w.beginObject()
            w.key("from"); w.time(from)
            w.key("to"); w.time(to)
            w.key("days"); w.double(Double(to - from) / Double(millisPerDay))
            w.endObject()
        }
        w.key("until"); optional(&w, until) { $0.time($1) }
        w.key("events"); w.int(events)
        w.key("bad_inputs"); w.int(badInputs)
        w.key("customers"); w.int(customers)
        w.key("partitions"); w.int(partitions)
        w.key("orders_beyond_revenue_limit"); w.int(beyondRevenueLimit)
        w.key("attribution_models")
        w.beginArray()
        for m in AttributionModel.allCases { w.string(m.name) }
        w.endArray()
        w.key("withheld_reasons")
        w.beginArray()
        for r in WithheldReason.allCases { w.string(r.rawValue) }
        w.endArray()
        w.key("rule_sets")
        w.beginObject()
        w.key("current"); writeSide(&w, current)
        w.key("candidate"); optional(&w, candidate) { writeSide(&$0, $1) }
        w.endObject()
        w.key("rules")
        w.beginArray()
        for id in ruleIds {
            w.beginObject()
            w.key("rule_id"); w.string(id)
            writeTriple(&w, current.rules[id], candidate?.rules[id])
            w.endObject()
        }
        w.endArray()
        w.key("totals")
        w.beginObject()
        writeTriple(&w, current.total, candidate?.total)
        w.endObject()
        w.key("messages_over_time")
        w.beginArray()
        for p in pressure {
            w.beginObject()
            w.key("month"); w.string(p.month.name)
            w.key("customers"); w.int(p.customers)
            w.key("current"); optional(&w, p.current) { $0.double($1) }
            w.key("candidate"); optional(&w, p.candidate) { $0.double($1) }
            w.endObject()
        }
        w.endArray()
        w.key("history"); writeHistory(&w)
        w.key("churn")
        w.beginArray()
        for c in churn { writeChurn(&w, c) }
        w.endArray()
        w.key("churn_note"); optional(&w, churnNote) { $0.string($1) }
        w.endObject()
        return w.bytes
    }

    private func optional<T>(_ w: inout JSONWriter, _ value: T?, _ write: (inout JSONWriter, T) -> Void) {
        if let value { write(&w, value) } else { w.null() }
    }

    private func money(_ w: inout JSONWriter, _ cents: Int64) {
        w.key("revenue"); w.double(Double(cents) / 100)
        w.key("revenue_cents"); w.int(cents)
    }

    private func writeSide(_ w: inout JSONWriter, _ s: Side) {
        w.beginObject()
        w.key("rules_version"); w.string(s.rulesVersion)
        w.key("rules_file_version"); w.string(s.rulesFileVersion)
        w.key("churn_model"); w.bool(s.hasChurnModel)
        w.key("late_events"); w.int(s.report.lateEvents)
        w.key("ignored_order_events"); w.int(s.report.ignoredOrderEvents)
        w.key("purchases_credited"); w.int(s.purchasesCredited)
        w.key("topic_conversions"); w.int(s.report.totalConversions)
        w.endObject()
    }

    private func writeTriple(_ w: inout JSONWriter, _ a: RuleMetrics?, _ b: RuleMetrics?) {
        w.key("current"); optional(&w, a) { writeMetrics(&$0, $1) }
        w.key("candidate"); optional(&w, candidate == nil ? nil : b) { writeMetrics(&$0, $1) }
        w.key("difference"); optional(&w, candidate == nil ? nil : RuleMetrics.difference(b, a)) { writeMetrics(&$0, $1) }
    }

    private func writeMetrics(_ w: inout JSONWriter, _ m: RuleMetrics) {
        w.beginObject()
        w.key("triggers"); w.int(m.triggers)
        w.key("customers"); w.int(m.customers)
        w.key("withheld")
        w.beginObject()
        for (k, r) in WithheldReason.allCases.enumerated() { w.key(r.rawValue); w.int(m.withheld[k]) }
        w.key("total"); w.int(m.withheld.reduce(0, +))
        w.endObject()
        w.key("messages_per_customer_30d"); optional(&w, m.messagesPerCustomer30d) { $0.double($1) }
        w.key("messages_per_customer_30d_before_caps"); optional(&w, m.messagesPerCustomer30dBeforeCaps) { $0.double($1) }
        w.key("attribution")
        w.beginObject()
        for model in AttributionModel.allCases {
            w.key(model.name)
            w.beginObject()
            w.key("conversions"); w.double(m.conversions[model.rawValue])
            money(&w, m.cents[model.rawValue])
            w.endObject()
        }
        w.endObject()
        w.key("hit_rate")
        w.beginObject()
        w.key("triggers_with_recommendations"); w.int(m.recommending)
        w.key("hits"); w.int(m.hits)
        w.key("rate"); optional(&w, m.hitRate) { $0.double($1) }
        w.endObject()
        // Spec 7.2's lift, per rule, where the rules have experiments (null otherwise, and in a difference).
        w.key("lift")
        if let lift = m.lift { BacktestReport.writeLift(lift.counts, holdout: lift.holdout, &w) } else { w.null() }
        w.endObject()
    }

    private func writeHistory(_ w: inout JSONWriter) {
        let c = cohorts
        w.beginObject()
        w.key("buyers"); w.int(c.buyers)
        w.key("repeat_buyers"); w.int(c.repeatBuyers)
        w.key("repeat_purchase_rate"); optional(&w, c.repeatRate) { $0.double($1) }
        money(&w, c.cents)
        w.key("ltv")
        w.beginObject()
        w.key("monthly_revenue_per_customer"); optional(&w, c.monthlyRevenuePerCustomer) { $0.double($1) }
        w.key("mean_lifetime_months"); optional(&w, c.meanLifetimeMonths) { $0.double($1) }
        w.key("ltv"); optional(&w, c.ltv) { $0.double($1) }
        w.key("customer_months"); w.double(c.customerMonths)
        w.endObject()
        w.key("active_window_days"); w.int(Cohorts.activeDays)
        w.key("cohorts")
        w.beginArray()
        for k in c.cohorts {
            w.beginObject()
            w.key("month"); w.string(k.month.name)
            w.key("customers"); w.int(k.customers)
            w.key("repeat_customers"); w.int(k.repeatCustomers)
            w.key("repeat_purchase_rate"); w.double(Double(k.repeatCustomers) / Double(k.customers))
            money(&w, k.cents)
            w.key("active_by_month_since")
            w.beginArray()
            for n in k.active { w.int(n) }
            w.endArray()
            w.key("retention_by_month_since")
            w.beginArray()
            for n in k.active { w.double(Double(n) / Double(k.customers)) }
            w.endArray()
            w.endObject()
        }
        w.endArray()
        w.key("retention")
        w.beginArray()
        for m in c.months {
            w.beginObject()
            w.key("month"); w.string(m.month.name)
            w.key("customers_at_start"); w.int(m.start)
            w.key("new_customers"); w.int(m.new)
            w.key("customers_at_end"); w.int(m.end)
            w.key("retention"); optional(&w, m.retention) { $0.double($1) }
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }

    private func writeChurn(_ w: inout JSONWriter, _ c: ChurnCheck) {
        w.beginObject()
        w.key("source"); w.string(c.source.rawValue)
        w.key("model")
        w.beginObject()
        w.key("r"); w.double(c.model.r)
        w.key("alpha"); w.double(c.model.alpha)
        w.key("a"); w.double(c.model.a)
        w.key("b"); w.double(c.model.b)
        w.key("log_likelihood"); optional(&w, c.logLikelihood) { $0.double($1) }
        w.key("fitted_until"); optional(&w, c.fittedUntil) { $0.time($1) }
        w.endObject()
        w.key("horizon_days"); w.double(c.horizonDays)
        w.key("bands_from")
        w.beginObject()
        w.key("medium"); w.double(ChurnCheck.mediumFrom)
        w.key("high"); w.double(ChurnCheck.highFrom)
        w.endObject()
        w.key("bands")
        w.beginArray()
        for b in c.bands {
            w.beginObject()
            w.key("at"); w.time(b.at)
            w.key("low"); w.int(b.low)
            w.key("medium"); w.int(b.medium)
            w.key("high"); w.int(b.high)
            w.endObject()
        }
        w.endArray()
        w.key("prediction")
        if let boundary = c.boundary, let total = c.predictions.last {
            w.beginObject()
            w.key("from"); w.time(boundary)
            w.key("to"); w.time(to)
            w.key("weeks"); w.double(Double(ChurnSummary.day(to) - ChurnSummary.day(boundary)) / 7)
            w.key("cohorts")
            w.beginArray()
            for p in c.predictions.dropLast() { writePrediction(&w, p) }
            w.endArray()
            w.key("total"); writePrediction(&w, total)
            w.endObject()
        } else {
            w.null()
        }
        w.endObject()
    }

    private func writePrediction(_ w: inout JSONWriter, _ p: ChurnCheck.Prediction) {
        w.beginObject()
        if let cohort = p.cohort { w.key("month"); w.string(cohort.name) }
        w.key("customers"); w.int(p.customers)
        w.key("predicted"); w.double(p.predicted)
        w.key("actual"); w.int(p.actual)
        w.endObject()
    }
}

extension CampaignTask {
    /// One customer's state as `rekindle inspect` and `/customers/{id}` show it: facts, stage,
    /// engagement and the touches still ahead whose conditions hold today (each is checked again
    /// when due), with their due times. Nil for an unknown customer.
    public func describe(customer id: String) -> [UInt8]? {
        guard let index = customerIndex[id] else { return nil }
        let c = Int(index)
        let s = customers[c]
        let f = s.facts
        let now = watermark == .min ? (s.lastSignal ?? 0) : watermark
        let snap = snapshot(c, at: now)
        var w = JSONWriter()
        w.beginObject()
        w.key("customer_id"); w.string(id)
        w.key("as_of")
        if watermark == .min { w.null() } else { w.time(watermark) }
        w.key("completed_orders"); w.int(f.completedOrders)
        w.key("first_purchase_at")
        if f.completedOrders > 0 { w.time(f.firstPurchaseAt) } else { w.null() }
        w.key("last_purchase_at")
        if f.completedOrders > 0 { w.time(f.lastPurchaseAt) } else { w.null() }
        w.key("total_spent"); w.double(f.totalSpent)
        w.key("mean_interval_days"); w.double(f.meanInterval(rules.shop) / Double(millisPerDay))
        w.key("stage"); w.string(snap.stage.rawValue)
        w.key("engagement"); w.string(snap.cold ? "cold" : "warm")
        w.key("vip"); w.bool(snap.vip)
        w.key("vip_card"); w.bool(f.vipCard)
        w.key("first_seen")
        if let t = s.firstSeen { w.time(t) } else { w.null() }
        w.key("last_signal")
        if let t = s.lastSignal { w.time(t) } else { w.null() }
        w.key("orders"); w.int(s.orders.count)
        w.key("pending")
        w.beginArray()
        let clock = timerClock
        var pending: [(due: Millis, rule: Int, touch: Int)] = []
        forEachCandidate(c) { rule, touch, due, anchor in
            guard rule >= 0, due > clock, applies(rules.rules[rule], f, s) else { return }
            if anchor != .min && s.hasFired(.init(rule: Int32(rule), anchor: anchor, touch: Int32(touch))) { return }
            pending.append((due, rule, touch))
        }
        for p in pending.sorted(by: { ($0.due, $0.rule, $0.touch) < ($1.due, $1.rule, $1.touch) }) {
            w.beginObject()
            w.key("rule_id"); w.string(rules.rules[p.rule].id)
            w.key("touch"); w.int(p.touch)
            w.key("due_at"); w.time(p.due)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    /// Whether a pending touch's condition holds on today's facts (it is checked again when due).
    func applies(_ rule: CompiledRule, _ f: CustomerFacts, _ s: CustomerState) -> Bool {
        switch rule.kind {
        case .rf(let r): return r.applies(to: f)
        case .reanimation(let r): return r.applies(to: f)
        case .rhythm(let r): return r.applies(to: f)
        case .fall(let r): return r.applies(to: f)
        case .prospect: return f.completedOrders == 0
        default: return true
        }
    }
}

extension CampaignTask {
    /// One customer's state as `rekindle inspect` and `/customers/{id}` show it: facts, each
    /// family's fields (stage, engagement, VIP, ...) and the touches still ahead whose conditions
    /// hold today (each is checked again when due), with their due times. Nil for an unknown
    /// customer.
    public func describe(customer id: String) -> [UInt8]? {
        guard let c = core.customers.find(id) else { return nil }
        let s = core.customers[c]
        let f = s.facts
        let now = core.watermark == .min ? (s.lastSignal ?? 0) : core.watermark
        var w = JSONWriter()
        w.beginObject()
        w.key("customer_id"); w.string(id)
        w.key("as_of")
        if core.watermark == .min { w.null() } else { w.time(core.watermark) }
        w.key("completed_orders"); w.int(f.completedOrders)
        w.key("first_purchase_at")
        if f.completedOrders > 0 { w.time(f.firstPurchaseAt) } else { w.null() }
        w.key("last_purchase_at")
        if f.completedOrders > 0 { w.time(f.lastPurchaseAt) } else { w.null() }
        w.key("total_spent"); w.double(f.totalSpent)
        w.key("mean_interval_days"); w.double(f.meanInterval(rules.shop) / Double(millisPerDay))
        for field in Self.customerBlock(families, core, c, at: now, view: true).fields { field.write(&w) }
        w.key("first_seen")
        if let t = s.firstSeen { w.time(t) } else { w.null() }
        w.key("last_signal")
        if let t = s.lastSignal { w.time(t) } else { w.null() }
        w.key("orders"); w.int(s.orders.count)
        w.key("pending")
        w.beginArray()
        let ahead = Self.wakeUps(families, core, c, into: NextWakeUp(after: core.timerClock, ledger: s.fired, collecting: true)).pending
        for p in ahead.sorted(by: { ($0.due, $0.rule, $0.touch) < ($1.due, $1.rule, $1.touch) }) {
            let owner = rules.owners[Int(p.rule)]
            var check = Holds(local: owner.local, touch: p.touch, customer: c)
            families.read(owner.family, &check, core)
            guard check.holds else { continue }
            w.beginObject()
            w.key("rule_id"); w.string(rules.rules[Int(p.rule)].id)
            w.key("touch"); w.int(Int(p.touch))
            w.key("due_at"); w.time(p.due)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }
}

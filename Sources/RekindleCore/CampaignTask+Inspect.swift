extension CampaignTask {
    /// The number of the customer with this id in the task, if it has one: a number stays the
    /// customer's until it is erased (a replay's report counter keys customers by it).
    public func customerNumber(_ id: String) -> Int? { core.customers.find(id) }

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
        if let experiment = rules.experiments { describeGroups(experiment, c, id, &w) }
        let optIn = rules.policy?.requireOptIn ?? false
        if optIn || consents.entries[c] != nil {
            // Each channel's consent as a touch on it would find it (spec 7.3).
            w.key("consent")
            w.beginObject()
            for channel in Policy.channels where channel != "any" {
                w.key(channel); w.bool(consents.allows(c, channel: channel, optInRequired: optIn))
            }
            w.endObject()
        }
        w.endObject()
        return w.bytes
    }

    /// `"experiments": {"name", "global_control", "holdouts": [rule ids], "first_touches": [...]}`:
    /// the customer's groups, drawn from the id as spec 7.2 says, and the first touches lift counts.
    private func describeGroups(_ experiment: Experiments, _ c: Int, _ id: String, _ w: inout JSONWriter) {
        w.key("experiments")
        w.beginObject()
        w.key("name"); w.string(experiment.name)
        w.key("global_control"); w.bool(experiment.inGlobalControl(id))
        w.key("holdouts")
        w.beginArray()
        for (k, rule) in rules.rules.enumerated() where experiment.heldOut(rule: k, ruleId: rule.id, id) { w.string(rule.id) }
        w.endArray()
        w.key("first_touches")
        w.beginArray()
        for (k, rule) in rules.rules.enumerated() {
            guard let e = experiments?.exposure(c, rule: Int32(k)) else { continue }
            w.beginObject()
            w.key("rule_id"); w.string(rule.id)
            w.key("group"); w.string(e.group.name)
            w.key("fired_at"); w.time(e.firedAt)
            w.key("converted"); w.bool(e.converted)
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }
}

/// A task's state as bytes and back: everything `apply` and `advance` read, so that a restored
/// task continues exactly as the original would have (spec section 5, Checkpoints). Timers are not
/// stored: each customer's next wake-up is a function of its state and is recomputed, which is
/// also how a changed rule set takes effect from the snapshot's time on.
extension CampaignTask {
    static let stateFormat: UInt64 = 1

    public func encodeState() -> [UInt8] {
        var w = ByteWriter()
        w.varint(Self.stateFormat)
        w.varint(UInt64(rules.rules.count))
        for r in rules.rules { w.string(r.id) }
        w.int(watermark)
        w.int(timerClock)
        w.int(viewSequence)
        w.int(stats.eventsApplied); w.int(stats.lateEvents); w.int(stats.ignoredOrderEvents)
        w.int(stats.triggers); w.int(stats.conversions)
        w.varint(UInt64(productNames.count))
        for p in productNames { w.string(p) }
        w.varint(UInt64(model.counts.count))
        for (p, c) in model.counts.enumerated() {
            w.int(c)
            let neighbours = model.neighbors[p].sorted
            w.varint(UInt64(neighbours.count))
            for (q, n) in neighbours { w.int(q); w.int(n) }
        }
        w.varint(UInt64(customers.count))
        let ruleIds = rules.rules.map(\.id)
        for c in customers { Self.encode(c, &w, ruleIds: ruleIds) }
        return w.bytes
    }

    static func encode(_ c: CustomerState, _ w: inout ByteWriter, ruleIds: [String]) {
        w.string(c.id)
        w.int(c.facts.completedOrders); w.int(c.facts.lastPurchaseAt); w.int(c.facts.firstPurchaseAt)
        w.double(c.facts.totalSpent); w.bool(c.facts.vipCard); w.bool(c.facts.vipEntered)
        let orders = c.orders.sorted { RuleSet.byteLess($0.orderId, $1.orderId) }
        w.varint(UInt64(orders.count))
        for o in orders {
            w.string(o.orderId)
            w.int(o.status.map { Int64($0.rawValue) } ?? -1)
            w.varint(UInt64(o.eventIds.count))
            for e in o.eventIds { w.string(e) }
            w.ints(o.products)
            w.bool(o.converted); w.bool(o.creditedToModel); w.bool(o.everCompleted)
        }
        w.varint(UInt64(c.purchases.count))
        for p in c.purchases { w.string(p.orderId); w.int(p.at); w.double(p.total) }
        w.optionalInt(c.firstSeen); w.optionalInt(c.lastSignal); w.bool(c.cold)
        w.varint(UInt64(c.views.count))
        for v in c.views { w.int(v.product); w.int(v.at); w.int(v.seq) }
        w.ints(c.viewedEver)
        w.optionalInt(c.lastView)
        w.varint(UInt64(c.orderMentions.count))
        for m in c.orderMentions { w.int(m.at); w.ints(m.products) }
        w.varint(UInt64(c.offered.count))
        for o in c.offered { w.int(o.rule); w.int(o.product); w.int(o.at) }
        w.varint(UInt64(c.lastRise.count))
        for r in c.lastRise { w.int(r.rule); w.int(r.at) }
        w.varint(UInt64(c.fired.count))
        for f in c.fired { w.int(f.rule); w.int(f.anchor); w.int(f.touch) }
        w.varint(UInt64(c.openTouches.count))
        // The trigger id stays in the format (version 1), derived as the conversion derives it.
        for t in c.openTouches {
            w.string(Trigger.id(ruleId: ruleIds[Int(t.rule)], customerId: c.id, firedAt: t.firedAt, touch: Int(t.touch)))
            w.int(t.rule); w.int(t.touch); w.int(t.firedAt); w.int(t.windowEnd)
        }
    }

    /// Restores a task from `encodeState()` bytes under `rules`. Rules are matched by id: touches
    /// of rules that are gone are dropped, and every customer is rescheduled under the new rules
    /// from the snapshot's time (no retroactive touches).
    public init(restoring bytes: [UInt8], rules: RuleSet, allowedLatenessMs: Millis = 0) throws(SnapshotError) {
        self.init(rules: rules, allowedLatenessMs: allowedLatenessMs)
        var r = ByteReader(bytes)
        guard try r.varint() == Self.stateFormat else { throw SnapshotError("unknown state format") }
        let oldIds = (0..<(try r.count())).map { _ in "" }
        var ids = oldIds
        for k in ids.indices { ids[k] = try r.string() }
        let newIndex = Dictionary(uniqueKeysWithValues: rules.rules.enumerated().map { ($1.id, Int32($0)) })
        let remap = ids.map { newIndex[$0] ?? -1 }
        func rule(_ old: Int32) throws(SnapshotError) -> Int32 {
            guard old >= 0 && Int(old) < remap.count else { throw SnapshotError("bad rule index \(old)") }
            return remap[Int(old)]
        }
        watermark = try r.int()
        timerClock = try r.int()
        viewSequence = try r.int()
        stats.eventsApplied = Int(try r.int()); stats.lateEvents = Int(try r.int())
        stats.ignoredOrderEvents = Int(try r.int()); stats.triggers = Int(try r.int())
        stats.conversions = Int(try r.int())
        let productCount = try r.count()
        for _ in 0..<productCount {
            let name = try r.string()
            productIndex[name] = Int32(productNames.count)
            productNames.append(name)
        }
        let modelCount = try r.count()
        model.counts.reserveCapacity(modelCount)
        for _ in 0..<modelCount {
            model.counts.append(try r.int32())
            var neighbours = Recommender.Neighbours()
            for _ in 0..<(try r.count()) {
                let q = try r.int32()
                guard neighbours.slot[q] == nil else { throw SnapshotError("neighbour \(q) twice") }
                neighbours.add(q, try r.int32())
            }
            model.neighbors.append(neighbours)
        }
        model.rebuildStrongest(names: productNames)
        let customerCount = try r.count()
        customers.reserveCapacity(customerCount)
        for _ in 0..<customerCount {
            let c = try Self.decodeCustomer(&r, rule)
            customerIndex[c.id] = Int32(customers.count)
            customers.append(c)
        }
        guard r.atEnd else { throw SnapshotError("\(r.bytes.count - r.i) unexpected bytes after the state") }
        for c in customers.indices { reschedule(c) }
    }

    static func decodeCustomer(_ r: inout ByteReader, _ rule: (Int32) throws(SnapshotError) -> Int32) throws(SnapshotError) -> CustomerState {
        var c = CustomerState(id: try r.string())
        c.facts.completedOrders = Int(try r.int())
        c.facts.lastPurchaseAt = try r.int()
        c.facts.firstPurchaseAt = try r.int()
        c.facts.totalSpent = try r.double()
        c.facts.vipCard = try r.bool()
        c.facts.vipEntered = try r.bool()
        for _ in 0..<(try r.count()) {
            let id = try r.string()
            var o = CustomerState.OrderRecord(orderId: id)
            let status = try r.int()
            if status >= 0 {
                guard let s = OrderStatus(rawValue: UInt8(clamping: status)), Int64(s.rawValue) == status else {
                    throw SnapshotError("bad order status \(status)")
                }
                o.status = s
            }
            for _ in 0..<(try r.count()) { o.eventIds.append(try r.string()) }
            o.products = try r.ints()
            o.converted = try r.bool(); o.creditedToModel = try r.bool(); o.everCompleted = try r.bool()
            guard c.orderIndex(id) == nil else { throw SnapshotError("order \(id) twice") }
            c.orders.append(o)
        }
        for _ in 0..<(try r.count()) {
            c.purchases.append(.init(orderId: try r.string(), at: try r.int(), total: try r.double()))
        }
        c.firstSeen = try r.optionalInt(); c.lastSignal = try r.optionalInt(); c.cold = try r.bool()
        for _ in 0..<(try r.count()) { c.views.append(.init(product: try r.int32(), at: try r.int(), seq: try r.int())) }
        c.viewedEver = try r.ints()
        c.lastView = try r.optionalInt()
        for _ in 0..<(try r.count()) { c.orderMentions.append(.init(at: try r.int(), products: try r.ints())) }
        for _ in 0..<(try r.count()) {
            let o = CustomerState.Offered(rule: try rule(try r.int32()), product: try r.int32(), at: try r.int())
            if o.rule >= 0 { c.offered.append(o) }
        }
        for _ in 0..<(try r.count()) {
            let t = CustomerState.RuleTime(rule: try rule(try r.int32()), at: try r.int())
            if t.rule >= 0 { c.lastRise.append(t) }
        }
        for _ in 0..<(try r.count()) {
            let f = CustomerState.FiredTouch(rule: try rule(try r.int32()), anchor: try r.int(), touch: try r.int32())
            if f.rule >= 0 { c.fired.append(f) }
        }
        for _ in 0..<(try r.count()) {
            _ = try r.string()  // the trigger id, derived again when needed
            let t = CustomerState.OpenTouch(
                rule: try rule(try r.int32()), touch: try r.int32(), firedAt: try r.int(), windowEnd: try r.int())
            if t.rule >= 0 { c.openTouches.append(t) }
        }
        return c
    }
}

/// State format 1: the positional format of the releases before sections (one record per
/// customer with every family's fields in a fixed order). Read only: a format-1 snapshot restores
/// into the core and hands each family its part (`RuleFamily.migrate`), so a deployment upgrades
/// without re-folding its topics.
extension CampaignTask {
    mutating func restoreFormat1(_ r: inout ByteReader) throws(SnapshotError) {
        let remap = try decodeTaskWide(&r)
        let count = try r.count()
        var legacy: [Format1Customer] = []
        legacy.reserveCapacity(count)
        core.customers.reserveCapacity(count)
        for _ in 0..<count {
            let (customer, extra) = try Format1Customer.decode(&r, remap: remap)
            try add(customer)
            legacy.append(extra)
        }
        var migrate = MigrateFormat1(customers: legacy)
        families.visitAll(&migrate, &core)
    }
}

/// The family fields of a format-1 customer record, rule indices already renumbered (touches of
/// rules that are gone dropped).
struct Format1Customer: Sendable {
    var vipEntered = false
    var cold = false
    var lastView: Millis?
    var orderMentions: [ViewsFamily.OrderMention] = []
    var offered: [ViewsFamily.Offered] = []
    var lastRise: [FrequencyFamily.LastRise] = []

    static func decode(_ r: inout ByteReader, remap: RuleRemap) throws(SnapshotError) -> (CustomerState, Format1Customer) {
        var c = CustomerState(id: try r.string())
        var x = Format1Customer()
        c.facts.completedOrders = Int(try r.int())
        c.facts.lastPurchaseAt = try r.int()
        c.facts.firstPurchaseAt = try r.int()
        c.facts.totalSpent = try r.double()
        c.facts.vipCard = try r.bool()
        x.vipEntered = try r.bool()
        try c.decodeOrders(&r)
        c.firstSeen = try r.optionalInt(); c.lastSignal = try r.optionalInt()
        x.cold = try r.bool()
        try c.decodeViews(&r)
        x.lastView = try r.optionalInt()
        for _ in 0..<(try r.count()) { x.orderMentions.append(.init(at: try r.int(), products: try r.ints())) }
        for _ in 0..<(try r.count()) {
            let o = ViewsFamily.Offered(rule: try remap(try r.int32()), product: try r.int32(), at: try r.int())
            if o.rule >= 0 { x.offered.append(o) }
        }
        for _ in 0..<(try r.count()) {
            let t = FrequencyFamily.LastRise(rule: try remap(try r.int32()), at: try r.int())
            if t.rule >= 0 { x.lastRise.append(t) }
        }
        try c.decodeLedger(&r, remap: remap)
        for _ in 0..<(try r.count()) {
            _ = try r.string()  // the trigger id, derived again when needed
            let t = CustomerState.OpenTouch(
                rule: try remap(try r.int32()), touch: try r.int32(), firedAt: try r.int(), windowEnd: try r.int())
            if t.rule >= 0 { c.openTouches.append(t) }
        }
        return (c, x)
    }
}

private struct MigrateFormat1: FamilyVisitor {
    let customers: [Format1Customer]
    mutating func visit<F: RuleFamily>(_ family: inout F, _ core: inout TaskCore) {
        family.migrate(format1: customers, core)
    }
}

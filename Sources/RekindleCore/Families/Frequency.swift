/// `frequency.rise` (spec 3.7, seed 003): more than `more_than` purchases in the trailing window
/// `(t - window, t]`, at most once per cooldown.
public struct RiseRule: Sendable, Equatable {
    public var moreThan: Int
    public var windowMs: Millis
    public var cooldownMs: Millis
    public var maxRecommendations: Int

    static let ranges: [String: ParamRange] = [
        "more_than": .whole(0...1_000_000, "purchases"), "window_days": .days, "cooldown_days": .days,
        "max_recommendations": .recommendations,
    ]

    init(_ p: inout RuleParams) throws(RuleError) {
        moreThan = try p.int("more_than")
        windowMs = try p.days("window_days")
        cooldownMs = try p.days("cooldown_days")
        maxRecommendations = try p.int("max_recommendations")
    }

    /// Whether a purchase at `t` fires, given the purchase times counted now and the last firing.
    public func fires(at t: Millis, purchaseTimes: [Millis], lastFired: Millis?) -> Bool {
        if let lastFired, t < lastFired.adding(cooldownMs) { return false }
        let from = t.subtracting(windowMs)
        var count = 0
        for p in purchaseTimes where p > from && p <= t { count += 1 }
        return count > moreThan
    }
}

/// `frequency.fall`: a customer with enough purchases goes `max(min_days, factor x mean_interval)`
/// without one.
public struct FallRule: Sendable, Equatable {
    public var minPurchases: Int
    public var minMs: Millis
    public var factor: Double

    static let ranges: [String: ParamRange] = ["min_purchases": .purchases, "min_days": .days, "factor": .factor]

    init(_ p: inout RuleParams) throws(RuleError) {
        minPurchases = try p.int("min_purchases")
        minMs = try p.days("min_days")
        factor = try p.number("factor")
    }

    public func due(facts: CustomerFacts, shop: ShopParameters) -> Millis {
        max(facts.lastPurchaseAt.adding(minMs), facts.afterLast(factor, shop))
    }

    public func applies(to facts: CustomerFacts) -> Bool { facts.completedOrders >= minPurchases }
}

/// The `frequency` family (spec 3.7): `frequency.rise` at a purchase that makes the trailing window
/// busy (with recommendations from the customer's purchases), and `frequency.fall` anchored on the
/// last purchase. Its state is when each rise rule last fired for the customer.
struct FrequencyFamily: RuleFamily {
    enum Rule: Sendable, Equatable {
        case rise(RiseRule)
        case fall(FallRule)
    }

    struct LastRise: Sendable, Equatable {
        var rule: Int32
        var at: Millis
    }

    static let name = "frequency"
    static let kinds = ["rise", "fall"]
    static func kindRanges(_ kind: String) -> [String: ParamRange] { kind == "rise" ? RiseRule.ranges : FallRule.ranges }

    let shop: ShopParameters
    var rules: [Indexed<Rule>] = []
    /// Per customer, the last firing of each rise rule that fired for them.
    var lastRise: [[LastRise]] = []

    init(_ p: inout RuleParams, shop: ShopParameters) throws(RuleError) { self.shop = shop }

    func compile(kind: String, _ p: inout RuleParams, common: TouchSpec) throws(RuleError) -> (Rule, [TouchSpec]) {
        (kind == "rise" ? .rise(try RiseRule(&p)) : .fall(try FallRule(&p)), [common])
    }

    mutating func addCustomer() { lastRise.append([]) }
    mutating func erase(_ c: Int) { lastRise[c] = [] }

    mutating func onEvent(_ e: AppliedEvent, _ c: Int, _ core: inout TaskCore, fired: inout [EventFiring]) {
        guard case .order(completed: true, _, let t, late: false) = e else { return }
        let times = core.customers[current: c].purchases.map(\.at)
        for r in rules {
            guard case .rise(let rise) = r.rule else { continue }
            let last = lastRise[c].last { $0.rule == r.index }?.at
            guard rise.fires(at: t, purchaseTimes: times, lastFired: last) else { continue }
            lastRise[c].removeAll { $0.rule == r.index }
            lastRise[c].append(LastRise(rule: r.index, at: t))
            // Seeds: the products of the purchases that count, in order, each once.
            var seeds: [Int32] = []
            for p in core.customers[current: c].purchases {
                guard let k = core.customers[current: c].orderIndex(p.orderId) else { continue }
                for q in core.customers[current: c].orders[k].products where !seeds.contains(q) { seeds.append(q) }
            }
            let recs = core.recommend(c, seeds: seeds, limit: rise.maxRecommendations)
            fired.append(EventFiring(rule: r.index, touch: 1, firing: Firing(recommendations: recs)))
        }
    }

    func candidates<S: WakeSink>(_ c: Int, _ core: TaskCore, _ body: inout S) {
        let f = facts(c, core)
        guard f.completedOrders > 0 else { return }
        for r in rules {
            if case .fall(let fall) = r.rule { body.add(r.index, 1, fall.due(facts: f, shop: shop), f.lastPurchaseAt) }
        }
    }

    func holds(_ local: Int, touch: Int32, _ c: Int, _ core: TaskCore) -> Bool {
        switch rules[local].rule {
        case .fall(let fall): return fall.applies(to: facts(c, core))
        case .rise: return true
        }
    }

    mutating func fire(_ local: Int, touch: Int32, _ c: Int, at w: Millis, _ core: inout TaskCore) -> Firing? {
        Firing()
    }

    func encodeSection(_ w: inout ByteWriter, _ core: TaskCore) {
        for list in lastRise {
            w.varint(UInt64(list.count))
            for l in list { w.int(l.rule); w.int(l.at) }
        }
    }

    mutating func decodeSection(_ r: inout ByteReader, version: UInt64, _ core: TaskCore, remap: RuleRemap) throws(SnapshotError) {
        lastRise = []
        lastRise.reserveCapacity(core.customers.count)
        for _ in core.customers.indices {
            var list: [LastRise] = []
            for _ in 0..<(try r.count()) {
                let l = LastRise(rule: try remap(try r.int32()), at: try r.int())
                if l.rule >= 0 { list.append(l) }
            }
            lastRise.append(list)
        }
    }

    mutating func startFromFacts(_ core: TaskCore) { lastRise = Array(repeating: [], count: core.customers.count) }

    mutating func migrate(format1 customers: [Format1Customer], _ core: TaskCore) {
        lastRise = customers.map(\.lastRise)
    }
}

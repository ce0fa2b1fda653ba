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

/// Stage triggers by the customer's own rhythm (spec 3.3, seed 002).
public struct RhythmRule: Sendable, Equatable {
    /// Fires at `L + floor(factor x mean_interval)`.
    public var factor: Double
    public var minPurchases: Int

    static let ranges: [String: ParamRange] = ["factor": .factor, "min_purchases": .purchases]

    init(_ p: inout RuleParams) throws(RuleError) {
        factor = try p.number("factor")
        minPurchases = try p.int("min_purchases")
    }

    public func due(facts: CustomerFacts, shop: ShopParameters) -> Millis { facts.afterLast(factor, shop) }
    public func applies(to facts: CustomerFacts) -> Bool { facts.completedOrders >= minPurchases }
}

/// `stage.prospect`: some days after a customer is first seen, while `n = 0`.
public struct ProspectRule: Sendable, Equatable {
    public var afterMs: Millis

    static let ranges: [String: ParamRange] = ["after_days": .days]

    init(_ p: inout RuleParams) throws(RuleError) { afterMs = try p.days("after_days") }
}

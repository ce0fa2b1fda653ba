/// Shop-wide parameters of a rule set.
public struct ShopParameters: Sendable, Equatable {
    public var meanIntervalFallbackMs: Millis
    public var minMeanIntervalMs: Millis
    public var conversionWindowDays: Int
    public var channel: String
}

/// The purchase facts every rule reads (spec section 3): `n`, `L`, `first`, money, VIP.
public struct CustomerFacts: Sendable, Equatable {
    public var completedOrders = 0
    public var lastPurchaseAt: Millis = 0
    public var firstPurchaseAt: Millis = 0
    public var totalSpent = 0.0
    public var vipCard = false

    public init() {}

    /// `Double(L - first) / Double(n - 1)` in ms, or the shop's fallback for n = 1 or an
    /// interval shorter than the minimum (spec section 3, Arithmetic).
    public func meanInterval(_ shop: ShopParameters) -> Double {
        if completedOrders >= 2 {
            let mi = Double(lastPurchaseAt - firstPurchaseAt) / Double(completedOrders - 1)
            if mi >= Double(shop.minMeanIntervalMs) { return mi }
        }
        return Double(shop.meanIntervalFallbackMs)
    }

    /// `L + floor(k x mean_interval)`, rounded down once.
    public func afterLast(_ k: Double, _ shop: ShopParameters) -> Millis {
        lastPurchaseAt.adding(Millis.flooring(k * meanInterval(shop)))
    }

    public var averageCheck: Double { completedOrders > 0 ? totalSpent / Double(completedOrders) : 0 }
}

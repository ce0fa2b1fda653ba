/// `vip.entered` (spec 3.4): the first time a customer has enough purchases and spend, or
/// shows a VIP card. Fires once per customer, ever.
public struct VIPRule: Sendable, Equatable {
    public var minPurchases: Int
    public var minTotalSpent: Double
    public var card: Bool

    static let ranges: [String: ParamRange] = [
        "min_purchases": .purchases, "min_total_spent": .number(0...1e12, "money"),
    ]

    init(_ p: inout RuleParams) throws(RuleError) {
        minPurchases = try p.int("min_purchases")
        minTotalSpent = try p.number("min_total_spent")
        card = try p.bool("card")
    }

    public func qualifies(_ facts: CustomerFacts) -> Bool {
        (card && facts.vipCard) || (facts.completedOrders >= minPurchases && facts.totalSpent >= minTotalSpent)
    }
}

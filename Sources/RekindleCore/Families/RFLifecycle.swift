/// RF lifecycle (spec 3.1, seed 000): touch 1 at `L + days`, touch 2 `second_touch_days` later,
/// while `n` is in the rule's range.
public struct RFRule: AnchoredTouches {
    public var minPurchases: Int
    public var maxPurchases: Int?
    public var delayMs: Millis
    public var secondTouchMs: Millis?

    static let ranges: [String: ParamRange] = [
        "min_purchases": .purchases, "max_purchases": .purchases, "days": .days, "second_touch_days": .days,
    ]

    init(_ p: inout RuleParams) throws(RuleError) {
        _ = try p.string("stage")
        minPurchases = try p.int("min_purchases")
        maxPurchases = try p.optionalInt("max_purchases")
        if let maxPurchases, maxPurchases < minPurchases {
            throw RuleError("\(p.path).max_purchases: must not be below min_purchases")
        }
        delayMs = try p.days("days")
        secondTouchMs = try p.optionalNumber("second_touch_days").map { RuleParams.millis($0, per: millisPerDay) }
    }

    public var touchCount: Int { secondTouchMs == nil ? 1 : 2 }

    public func due(touch: Int, last: Millis) -> Millis {
        touch == 1 ? last.adding(delayMs) : last.adding(delayMs).adding(secondTouchMs ?? 0)
    }

    public func applies(to facts: CustomerFacts) -> Bool {
        facts.completedOrders >= minPurchases && facts.completedOrders <= (maxPurchases ?? Int.max)
    }
}

/// The `rf` family: RF lifecycle touches anchored on the last purchase. No state of its own: the
/// touches are functions of `n` and `L`, and the core's ledger remembers which fired.
struct RFFamily: RuleFamily {
    static let name = "rf"
    static let kinds = ["rf"]
    static func kindRanges(_ kind: String) -> [String: ParamRange] { RFRule.ranges }

    var rules: [Indexed<RFRule>] = []

    init(_ p: inout RuleParams, shop: ShopParameters) throws(RuleError) {}

    func compile(kind: String, _ p: inout RuleParams, common: TouchSpec) throws(RuleError) -> (RFRule, [TouchSpec]) {
        let rule = try RFRule(&p)
        return (rule, Array(repeating: common, count: rule.touchCount))
    }

    mutating func fire(_ local: Int, touch: Int32, _ c: Int, at w: Millis, _ core: inout TaskCore) -> Firing? {
        Firing()
    }
}

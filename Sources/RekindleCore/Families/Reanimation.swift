/// Reanimation chains (spec 3.2, seed 001): escalating gifts for sleeping customers, capped by
/// what the customer's own average check can pay for.
public struct ReanimationRule: AnchoredTouches {
    public enum VIPCardPolicy: String, Sendable {
        /// Card holders are not in this segment.
        case excluded
        /// Card holders are in this segment whatever their purchase count.
        case qualifies
        /// The card does not matter.
        case ignored
    }

    public struct Touch: Sendable, Equatable {
        public var afterMs: Millis
        public var channel: String
        public var bonusPoints: Int?
        public var validMs: Millis?
        public var windowDays: Int
    }

    public var minPurchases: Int
    public var maxPurchases: Int?
    public var vipCard: VIPCardPolicy
    public var startMs: Millis
    public var touches: [Touch]
    public var grossMargin: Double
    public var maxMarginShare: Double

    static let ranges: [String: ParamRange] = [
        "min_purchases": .purchases, "max_purchases": .purchases, "start_days": .days,
    ]
    static let touchRanges: [String: ParamRange] = [
        "after_days": .days, "bonus_points": .whole(0...1_000_000_000, "points"), "valid_days": .days,
        "conversion_window_days": .windowDays,
    ]
    static let maxTouches = 100

    init(_ p: inout RuleParams, grossMargin: Double, maxMarginShare: Double) throws(RuleError) {
        self.grossMargin = grossMargin
        self.maxMarginShare = maxMarginShare
        minPurchases = try p.int("min_purchases")
        maxPurchases = try p.optionalInt("max_purchases")
        vipCard = VIPCardPolicy(rawValue: try p.oneOf("vip_card", ["excluded", "qualifies", "ignored"]))!
        startMs = try p.days("start_days")
        guard case .array(let list)? = p.raw("touches"), !list.isEmpty, list.count <= Self.maxTouches else {
            throw RuleError("\(p.path).touches: expected a list of 1 to \(Self.maxTouches) touches")
        }
        var touches: [Touch] = []
        for (k, item) in list.enumerated() {
            var t = try RuleParams(item, path: "\(p.path).touches[\(k)]", ranges: Self.touchRanges)
            let touch = Touch(
                afterMs: try t.days("after_days"), channel: try t.string("channel"),
                bonusPoints: try t.optionalInt("bonus_points"),
                validMs: try t.optionalNumber("valid_days").map { RuleParams.millis($0, per: millisPerDay) },
                windowDays: try t.int("conversion_window_days"))
            if touch.bonusPoints != nil && touch.validMs == nil {
                throw RuleError("\(t.path).valid_days: a gift needs a validity")
            }
            if let last = touches.last, touch.afterMs <= last.afterMs {
                throw RuleError("\(t.path).after_days: touches must be in increasing time order")
            }
            try t.finish()
            touches.append(touch)
        }
        self.touches = touches
    }

    public var touchCount: Int { touches.count }

    public func due(touch: Int, last: Millis) -> Millis { last.adding(startMs).adding(touches[touch - 1].afterMs) }

    public func applies(to facts: CustomerFacts) -> Bool {
        let n = facts.completedOrders
        guard n >= 1 else { return false }
        let inRange = n >= minPurchases && n <= (maxPurchases ?? Int.max)
        switch vipCard {
        case .excluded: return inRange && !facts.vipCard
        case .qualifies: return inRange || facts.vipCard
        case .ignored: return inRange
        }
    }

    /// `min(configured, floor(average_check x gross_margin x max_margin_share))`, never negative.
    public func giftPoints(configured: Int, facts: CustomerFacts) -> Int {
        let cap = (facts.averageCheck * grossMargin * maxMarginShare).rounded(.down)
        guard cap.isFinite else { return configured }
        return max(0, min(configured, cap >= Double(Int.max) ? Int.max : Int(cap)))
    }
}

/// The `reanimation` family: chains of gifts anchored on the last purchase, each touch with its
/// own channel and conversion window. No state of its own.
struct ReanimationFamily: RuleFamily {
    static let name = "reanimation"
    static let kinds = ["chain"]
    static let familyRanges: [String: ParamRange] = [
        "gross_margin": .number(0...1, "share of revenue"), "max_margin_share": .number(0...1, "share of margin"),
    ]
    static func kindRanges(_ kind: String) -> [String: ParamRange] { ReanimationRule.ranges }
    static func nestedRanges(_ kind: String) -> [(String, ParamRange)] {
        [("touches", .whole(1...ReanimationRule.maxTouches, "touches"))]
            + ReanimationRule.touchRanges.sorted { RuleSet.byteLess($0.key, $1.key) }.map { ("touches[*].\($0.key)", $0.value) }
    }
    static let rulesHaveChannel = false

    let grossMargin: Double
    let maxMarginShare: Double
    var rules: [Indexed<ReanimationRule>] = []

    init(_ p: inout RuleParams, shop: ShopParameters) throws(RuleError) {
        grossMargin = try p.number("gross_margin")
        maxMarginShare = try p.number("max_margin_share")
    }

    func compile(kind: String, _ p: inout RuleParams, common: TouchSpec) throws(RuleError) -> (ReanimationRule, [TouchSpec]) {
        let chain = try ReanimationRule(&p, grossMargin: grossMargin, maxMarginShare: maxMarginShare)
        return (chain, chain.touches.map { TouchSpec(channel: $0.channel, windowDays: $0.windowDays) })
    }

    mutating func fire(_ local: Int, touch: Int32, _ c: Int, at w: Millis, _ core: inout TaskCore) -> Firing? {
        let chain = rules[local].rule, t = chain.touches[Int(touch) - 1]
        guard let points = t.bonusPoints else { return Firing() }
        return Firing(
            offer: Offer(bonusPoints: chain.giftPoints(configured: points, facts: facts(c, core)), validUntil: w.adding(t.validMs ?? 0)))
    }
}

/// `view.abandoned` parameters (spec 3.6, 3.8 item 7, seed 003).
public struct AbandonedViewRule: Sendable, Equatable {
    public var delayMs: Millis
    public var windowMs: Millis
    public var maxProducts: Int
    public var maxRecommendations: Int
    public var reofferMs: Millis

    static let ranges: [String: ParamRange] = [
        "delay_minutes": .number(0...ParamRange.maxSpanDays * 1_440, "minutes"),
        "window_hours": .above(0, upTo: ParamRange.maxSpanDays * 24, "hours"),
        "max_products": .whole(1...100, "products"), "max_recommendations": .recommendations,
        "reoffer_after_days": .days,
    ]

    init(_ p: inout RuleParams) throws(RuleError) {
        delayMs = RuleParams.millis(try p.number("delay_minutes"), per: millisPerMinute)
        windowMs = RuleParams.millis(try p.number("window_hours"), per: millisPerHour)
        maxProducts = try p.int("max_products")
        maxRecommendations = try p.int("max_recommendations")
        reofferMs = try p.days("reoffer_after_days")
    }
}

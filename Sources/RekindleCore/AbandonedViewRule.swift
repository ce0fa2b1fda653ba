/// `view.abandoned` parameters (spec 3.6, 3.8 item 7, seed 003).
public struct AbandonedViewRule: Sendable, Equatable {
    public var delayMs: Millis
    public var windowMs: Millis
    public var maxProducts: Int
    public var maxRecommendations: Int
    public var reofferMs: Millis

    init(_ p: inout RuleParams) throws(RuleError) {
        delayMs = RuleParams.millis(try p.number("delay_minutes"), per: millisPerMinute)
        windowMs = RuleParams.millis(try p.positive("window_hours"), per: millisPerHour)
        maxProducts = try p.int("max_products", min: 1)
        maxRecommendations = try p.int("max_recommendations")
        reofferMs = try p.days("reoffer_after_days")
    }
}

import RekindleCore

/// The recommendation hit rate of one rule (spec 3.6, 7.4): of its triggers, the share whose
/// customer completed a purchase containing a recommended product within `windowMs` after the
/// trigger (`fired_at < completed at <= fired_at + window`, the bounds attribution uses).
public struct HitRate: Sendable, Equatable {
    public var ruleId: String
    public var windowMs: Millis
    /// The rule's triggers.
    public var triggers = 0
    /// Those that carried at least one recommendation.
    public var recommending = 0
    /// Those whose customer then bought a recommended product in the window.
    public var hits = 0

    public init(ruleId: String, windowMs: Millis) {
        self.ruleId = ruleId
        self.windowMs = windowMs
    }

    /// Hits per trigger of the rule: the same denominator whatever the recommendations were.
    public var rate: Double { triggers == 0 ? 0 : Double(hits) / Double(triggers) }
    /// Hits per trigger that carried recommendations (spec 7.4's form).
    public var rateAmongRecommending: Double { recommending == 0 ? 0 : Double(hits) / Double(recommending) }

    /// Measures `ruleId`'s triggers against `events`, given in the order the fold applied them
    /// (by `occurred_at`): a completed order's products are its items as last given before or
    /// with the completion, as the fold reads them.
    public static func measure(
        events: [Event], triggers: [Trigger], ruleId: String = "view.abandoned", windowMs: Millis = 7 * millisPerDay
    ) -> HitRate {
        var result = HitRate(ruleId: ruleId, windowMs: windowMs)
        var recommended: [String: [(firedAt: Millis, products: Set<String>)]] = [:]
        for t in triggers where t.ruleId == ruleId {
            result.triggers += 1
            guard let products = t.recommendations, !products.isEmpty else { continue }
            result.recommending += 1
            recommended[t.customerId, default: []].append((t.firedAt, Set(products)))
        }
        // The completed purchases of the customers that were recommended something.
        var items: [String: [String: [String]]] = [:]
        var purchases: [String: [(at: Millis, products: [String])]] = [:]
        for e in events {
            guard case .order(let o) = e.body, recommended[e.customerId] != nil else { continue }
            if !o.items.isEmpty { items[e.customerId, default: [:]][o.orderId] = o.items.map(\.productId) }
            if o.status == .completed, let products = items[e.customerId]?[o.orderId] {
                purchases[e.customerId, default: []].append((e.occurredAt, products))
            }
        }
        for (customer, touches) in recommended {
            let bought = purchases[customer] ?? []
            for touch in touches {
                let end = touch.firedAt.adding(windowMs)
                let hit = bought.contains { p in
                    p.at > touch.firedAt && p.at <= end && p.products.contains { touch.products.contains($0) }
                }
                if hit { result.hits += 1 }
            }
        }
        return result
    }
}

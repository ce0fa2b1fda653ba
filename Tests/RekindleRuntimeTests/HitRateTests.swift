@testable import RekindleCore
import RekindleRuntime
import RekindleTooling
import Testing

/// The recommendation hit rate (spec 3.6, 7.4) on a stream checked by hand.
@Suite struct HitRateTests {
    static let t0: Millis = 1_767_225_600_000
    static let day = millisPerDay

    static func order(_ customer: String, _ id: String, _ status: OrderStatus, at t: Millis, _ items: [String] = []) -> Event {
        Event(
            eventId: "\(id)-\(status)-\(t)", customerId: customer, occurredAt: t,
            body: .order(OrderEvent(orderId: id, status: status, total: 10, items: items.map { OrderItem(productId: $0) })))
    }

    static func trigger(_ customer: String, at t: Millis, _ recommendations: [String]?, rule: String = "view.abandoned") -> Trigger {
        Trigger(
            triggerId: Trigger.id(ruleId: rule, customerId: customer, firedAt: t, touch: 1), ruleId: rule, touch: 1,
            customerId: customer, firedAt: t, channel: "email",
            customer: CustomerSnapshot(completedOrders: 0, lastPurchaseAt: nil, totalSpent: 0, fields: []),
            products: [CarriedProduct(productId: "x", viewedAt: t)], recommendations: recommendations,
            conversionWindowDays: 7, rulesVersion: "test")
    }

    /// A stream checked by hand: the events (in `occurred_at` order where it matters, as the fold
    /// applies them) and the triggers measured against them.
    static let handChecked: (events: [Event], triggers: [Trigger]) = {
        let t0 = Self.t0, day = Self.day
        let events = [
            // c1: items on created, completed 7 days later to the millisecond: a hit.
            Self.order("c1", "o1", .created, at: t0 + day, ["p9", "r2"]),
            Self.order("c1", "o1", .completed, at: t0 + 7 * day),
            // c2: a recommended product completed one millisecond past the window; another order of
            // an unrecommended product inside it.
            Self.order("c2", "o2", .completed, at: t0 + 7 * day + 1, ["r1"]),
            Self.order("c2", "o3", .completed, at: t0 + 2 * day, ["p1"]),
            // c3: the recommended product ordered, but cancelled, never completed.
            Self.order("c3", "o4", .created, at: t0 + day, ["r1"]),
            Self.order("c3", "o4", .cancelled, at: t0 + 2 * day),
            // c4: completed at the very instant of the trigger: not after it.
            Self.order("c4", "o5", .completed, at: t0, ["r1"]),
            // c5: the items change before completion: the last ones given count.
            Self.order("c5", "o6", .created, at: t0 + day, ["p1"]),
            Self.order("c5", "o6", .paid, at: t0 + day + 1, ["r3"]),
            Self.order("c5", "o6", .completed, at: t0 + 2 * day),
            // c6 bought r1, but another customer was recommended it.
            Self.order("c6", "o7", .completed, at: t0 + day, ["r1"]),
        ]
        let triggers = [
            Self.trigger("c1", at: t0, ["r1", "r2"]),
            Self.trigger("c2", at: t0, ["r1"]),
            Self.trigger("c3", at: t0, ["r1"]),
            Self.trigger("c4", at: t0, ["r1"]),
            Self.trigger("c5", at: t0, ["r3"]),
            Self.trigger("c6", at: t0, []),  // nothing recommended: in the denominator, never a hit
            Self.trigger("c7", at: t0, nil),
            Self.trigger("c1", at: t0, ["r2"], rule: "frequency.rise"),  // another rule
        ]
        return (events, triggers)
    }()

    @Test func aHitIsACompletedPurchaseOfARecommendedProductWithinSevenDaysAfterTheTrigger() {
        let (events, triggers) = Self.handChecked
        let day = Self.day
        let rate = HitRate.measure(events: events, triggers: triggers)
        #expect(rate.triggers == 7)
        #expect(rate.recommending == 5)
        #expect(rate.hits == 2, "c1 and c5")
        #expect(rate.rate == 2.0 / 7)
        #expect(rate.rateAmongRecommending == 2.0 / 5)

        let rise = HitRate.measure(events: events, triggers: triggers, ruleId: "frequency.rise")
        #expect((rise.triggers, rise.recommending, rise.hits) == (1, 1, 1))
        let narrow = HitRate.measure(events: events, triggers: triggers, windowMs: 2 * day - 1)
        #expect(narrow.hits == 0, "c5 completed at 2 days, c1 at 7")
    }

    @Test func noTriggersIsARateOfZero() {
        let rate = HitRate.measure(events: [], triggers: [])
        #expect(rate.rate == 0 && rate.rateAmongRecommending == 0)
    }
}

import RekindleCore
import Testing

/// Hostile totals: a sum that would leave the 64-bit float range is a bad input, refused whole,
/// so no output ever carries `"total_spent": null` (JSON has no infinity).
@Suite struct TotalOverflowTests {
    func order(_ id: String, _ orderId: String, _ status: OrderStatus, at t: Millis, total: Double, customer: String = "c1") -> Event {
        Event(eventId: id, customerId: customer, occurredAt: t, body: .order(OrderEvent(orderId: orderId, status: status, total: total)))
    }

    @Test func aCompletionThatWouldMakeTheTotalSpentInfiniteIsRefusedAndChangesNothing() throws {
        var task = CampaignTask(rules: .defaults)
        var out: [Output] = []
        #expect(task.apply(order("e1", "o1", .completed, at: at(days: 0), total: 1e308), into: &out) == nil)
        let before = try #require(task.describe(customer: "c1"))
        let refused = try #require(task.apply(order("e2", "o2", .completed, at: at(days: 1), total: 1e308), into: &out))
        #expect(refused.kind == .totalOverflow)
        #expect(refused.reason.contains("total_spent overflow"))
        // Nothing of the refused event happened: not a signal, not a purchase, not an order.
        #expect(task.describe(customer: "c1") == before)
        #expect(task.stats.eventsApplied == 1)
        // The customer goes on: a finite purchase is taken, and every trigger's total is finite.
        #expect(task.apply(order("e3", "o3", .completed, at: at(days: 2), total: 50), into: &out) == nil)
        task.advance(to: at(days: 400), into: &out)
        let triggers = out.compactMap { if case .trigger(let t) = $0 { return t } else { return nil } }
        #expect(!triggers.isEmpty)
        #expect(triggers.allSatisfy { $0.customer.totalSpent.isFinite })
        #expect(triggers.allSatisfy { !String(decoding: $0.json, as: UTF8.self).contains(#""total_spent":null"#) })
    }

    @Test func aRemovalWhoseResumOfTheRestOverflowsIsRefused() throws {
        // 1e308 - 1e308 + 1e308 is finite left to right; without the middle one it is not.
        var task = CampaignTask(rules: .defaults)
        var out: [Output] = []
        #expect(task.apply(order("e1", "o1", .completed, at: at(days: 0), total: 1e308), into: &out) == nil)
        #expect(task.apply(order("e2", "o2", .completed, at: at(days: 1), total: -1e308), into: &out) == nil)
        #expect(task.apply(order("e3", "o3", .completed, at: at(days: 2), total: 1e308), into: &out) == nil)
        let refused = try #require(task.apply(order("e4", "o2", .returned, at: at(days: 3), total: -1e308), into: &out))
        #expect(refused.kind == .totalOverflow)
        // The purchase stands: three completed orders.
        let json = String(decoding: try #require(task.describe(customer: "c1")), as: UTF8.self)
        #expect(json.contains("\"completed_orders\":3"))
    }

    @Test func aRepeatedEventIsNotRefusedEvenWithAHugeTotal() {
        // Spec 3.8 item 2: a re-delivered event has no effect at all, so nothing to refuse.
        var task = CampaignTask(rules: .defaults)
        var out: [Output] = []
        #expect(task.apply(order("e1", "o1", .completed, at: at(days: 0), total: 1e308), into: &out) == nil)
        #expect(task.apply(order("e1", "o1", .completed, at: at(days: 0), total: 1e308), into: &out) == nil)
        #expect(task.stats.ignoredOrderEvents == 1)
    }

    @Test func theLargestFiniteTotalsAreStillAccepted() {
        var task = CampaignTask(rules: .defaults)
        var out: [Output] = []
        #expect(task.apply(order("e1", "o1", .completed, at: at(days: 0), total: Double.greatestFiniteMagnitude), into: &out) == nil)
        #expect(task.apply(order("e2", "o2", .completed, at: at(days: 1), total: -Double.greatestFiniteMagnitude), into: &out) == nil)
    }
}

/// A broken client clock: `occurred_at` further ahead of its reference than `max_future_skew`.
@Suite struct FutureSkewTests {
    let event = Event(eventId: "e", customerId: "c1", occurredAt: at(days: 1, ms: 1), body: .email(EmailEvent(clicked: false, messageId: "m")))

    @Test func anEventMoreThanTheSkewAheadOfItsReferenceIsABadInput() throws {
        let e = try #require(EventDecoder.checkFutureSkew(event, reference: at(days: 0), maxSkewMs: day))
        #expect(e.kind == .futureTime)
        #expect(e.reason == "occurred_at: 2026-01-02T00:00:00.001Z is more than 1 day ahead of 2026-01-01T00:00:00.000Z (max_future_skew)")
    }

    @Test func anEventExactlyTheSkewAheadOrWithoutAReferenceIsAccepted() {
        #expect(EventDecoder.checkFutureSkew(event, reference: at(days: 0, ms: 1), maxSkewMs: day) == nil)
        #expect(EventDecoder.checkFutureSkew(event, reference: nil, maxSkewMs: day) == nil)
        // A reference so large that reference + skew overflows accepts everything, never traps.
        #expect(EventDecoder.checkFutureSkew(event, reference: .max - 5, maxSkewMs: day) == nil)
    }
}

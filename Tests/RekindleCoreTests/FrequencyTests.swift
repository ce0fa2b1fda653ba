import RekindleCore
import Testing

/// Spec 3.7 (purchase frequency rise and fall), with the Arithmetic paragraph of section 3,
/// 3.8 items 3 and 8, and the time model of section 4.
@Suite struct FrequencyTests {
    // MARK: - frequency.rise

    @Test func riseFiresAtTheSixthPurchaseInTheTrailingThirtyDays() throws {
        var s = Scenario(only: ["frequency"])
        for d in 0..<5 { s.purchase("o\(d)", at: at(days: Double(d))) }
        #expect(s.fired.isEmpty, "5 purchases in the window is not more than 5")
        s.purchase("o5", at: at(days: 5))
        #expect(s.fired == [Fired("frequency.rise", 1, at(days: 5))])
        let t = try #require(s.triggers.first)
        #expect(t.customer.completedOrders == 6, "the facts just after the purchase that fired it")
        #expect(t.customer.lastPurchaseAt == at(days: 5))
        #expect(t.channel == "email")
        #expect(t.conversionWindowDays == 7)
        #expect(t.recommendations != nil, "frequency.rise carries recommendations")
        #expect(t.triggerId == Trigger.id(ruleId: "frequency.rise", customerId: "c1", firedAt: at(days: 5), touch: 1))
    }

    @Test func aPurchaseExactlyThirtyDaysBeforeIsOutsideTheWindow() {
        // (t - 30 d, t]: at t = day 30 the purchase at day 0 does not count.
        var s = Scenario(only: ["frequency"])
        for (i, d) in [0.0, 10, 20, 25, 28, 30].enumerated() { s.purchase("o\(i)", at: at(days: d)) }
        #expect(s.fired("frequency.rise").isEmpty)

        // 1 ms earlier it is inside: six purchases in (t - 30 d, t].
        var r = Scenario(only: ["frequency"])
        for (i, d) in [0.0, 10, 20, 25, 28].enumerated() { r.purchase("o\(i)", at: at(days: d)) }
        r.purchase("o5", at: at(days: 30, ms: -1))
        #expect(r.fired("frequency.rise") == [Fired("frequency.rise", 1, at(days: 30, ms: -1))])
    }

    @Test func riseDoesNotFireAgainWithinThirtyDaysButMayAtExactlyThirty() {
        var s = Scenario(only: ["frequency"])
        for d in 0...34 { s.purchase("o\(d)", at: at(days: Double(d))) }
        #expect(s.fired == [Fired("frequency.rise", 1, at(days: 5))], "every purchase from day 6 to day 34 is in the cooldown")
        s.purchase("oa", at: at(days: 35, ms: -1))
        #expect(s.fired.count == 1, "1 ms before fired_at + 30 days")
        s.purchase("ob", at: at(days: 35))
        #expect(s.fired == [Fired("frequency.rise", 1, at(days: 5)), Fired("frequency.rise", 1, at(days: 35))],
                "again at exactly fired_at + 30 days, still as touch 1")
    }

    @Test func aReturnedPurchaseNoLongerCountsInTheWindowAndTheReturnFiresNothing() {
        var s = Scenario(only: ["frequency"])
        for d in 0..<6 { s.purchase("o\(d)", at: at(days: Double(d), hours: 1)) }
        #expect(s.fired == [Fired("frequency.rise", 1, at(days: 5, hours: 1))])

        var r = Scenario(only: ["frequency"])
        for d in 0..<5 { r.purchase("o\(d)", at: at(days: Double(d))) }
        r.order("o2", .returned, at: at(days: 4, hours: 12))
        r.purchase("o5", at: at(days: 5))
        #expect(r.fired.isEmpty, "5 purchases count after the return")
        r.purchase("o6", at: at(days: 6))
        #expect(r.fired == [Fired("frequency.rise", 1, at(days: 6))])
    }

    @Test func riseOnlyFiresAtAPurchase() {
        // Six completed orders in the window, then a non-completing order event and a view: the
        // rule fires at the purchase that made six, not at the later events.
        var s = Scenario(only: ["frequency"])
        for d in 0..<6 { s.purchase("o\(d)", at: at(days: Double(d))) }
        s.order("ox", .created, at: at(days: 6))
        s.order("ox", .paid, at: at(days: 7))
        s.view("p1", at: at(days: 8))
        #expect(s.fired == [Fired("frequency.rise", 1, at(days: 5))])
    }

    @Test func riseRecommendsFromTheCustomersPurchasesByCoPurchase() throws {
        // Other customers' baskets: p1 with p2 (twice) and with p3; p6 with p3; p4 with p5.
        // c1 bought p1 five times and p6 once. Cosine scores (any consistent count of c1's own
        // baskets) put p3 (co-bought with both seeds) before p2; p4/p5 are unrelated.
        var s = Scenario(only: ["frequency"])
        s.purchase("x2", at: at(days: -3), customer: "c2", items: ["p1", "p2"])
        s.purchase("x3", at: at(days: -3), customer: "c3", items: ["p1", "p3"])
        s.purchase("x4", at: at(days: -3), customer: "c4", items: ["p1", "p2"])
        s.purchase("x5", at: at(days: -3), customer: "c5", items: ["p6", "p3"])
        s.purchase("x6", at: at(days: -3), customer: "c6", items: ["p4", "p5"])
        for d in 0..<5 { s.purchase("o\(d)", at: at(days: Double(d)), items: ["p1"]) }
        s.purchase("o5", at: at(days: 5), items: ["p6"])
        let t = try #require(s.triggers("frequency.rise").first)
        #expect(t.customerId == "c1")
        #expect(t.firedAt == at(days: 5))
        #expect(t.recommendations == ["p3", "p2"])
    }

    @Test func riseRecommendsAtMostFiveRankedByScore() throws {
        // Baskets [p1, a..f], [p1, a..e], ..., [p1, a]: co(p1, x) = count(x), so the score
        // sqrt(count(x) / count(p1)) ranks a > b > c > d > e > f; f is the sixth and left out.
        var s = Scenario(only: ["frequency"])
        let others = ["a", "b", "c", "d", "e", "f"]
        for k in 1...6 {
            s.purchase("x\(k)", at: at(days: -2), customer: "k\(k)", items: ["p1"] + others.prefix(7 - k))
        }
        for d in 0..<6 { s.purchase("o\(d)", at: at(days: Double(d)), items: ["p1"]) }
        let t = try #require(s.triggers("frequency.rise").first)
        #expect(t.recommendations == ["a", "b", "c", "d", "e"])
    }

    @Test func riseNeverRecommendsAProductTheCustomerBought() throws {
        var s = Scenario(only: ["frequency"])
        s.purchase("x1", at: at(days: -1), customer: "c2", items: ["p1", "p2", "p3"])
        s.purchase("o0", at: at(days: 0), items: ["p1", "p2"])
        for d in 1..<6 { s.purchase("o\(d)", at: at(days: Double(d)), items: ["p1"]) }
        let t = try #require(s.triggers("frequency.rise").first)
        #expect(t.recommendations == ["p3"])
    }

    // MARK: - frequency.fall

    @Test func fallFiresAtLPlusOneAndAHalfMeanIntervals() throws {
        // mi = 10 d: 1.5 x mi = 15 d > 14 d, so L + 15 d = day 35.
        var s = Scenario(only: ["frequency"])
        s.purchase("o1", at: T0, total: 10)
        s.purchase("o2", at: at(days: 10), total: 20)
        s.purchase("o3", at: at(days: 20), total: 30)
        s.advance(to: at(days: 35, ms: -1))
        #expect(s.fired.isEmpty, "not 1 ms before")
        s.advance(to: at(days: 35))
        #expect(s.fired == [Fired("frequency.fall", 1, at(days: 35))])
        s.advance(to: at(days: 400))
        #expect(s.fired.count == 1, "once per L")
        let t = try #require(s.triggers.first)
        #expect(t.customer.completedOrders == 3)
        #expect(t.customer.lastPurchaseAt == at(days: 20))
        #expect(t.customer.totalSpent == 60)
        #expect(t.recommendations == nil)
    }

    @Test func fallWaitsAtLeastFourteenDays() {
        // mi = 2 d: 1.5 x mi = 3 d < 14 d, so L + 14 d.
        var s = Scenario(only: ["frequency"])
        s.purchase("o1", at: T0)
        s.purchase("o2", at: at(days: 2))
        s.purchase("o3", at: at(days: 4))
        s.advance(to: at(days: 18, ms: -1))
        #expect(s.fired.isEmpty)
        s.advance(to: at(days: 18))
        #expect(s.fired == [Fired("frequency.fall", 1, at(days: 18))])
    }

    @Test func fallDueTimeIsRoundedDownToTheMillisecond() {
        // mi = 864,000,001 ms; 1.5 x mi = 1,296,000,001.5 -> 15 d + 1 ms: L + that = day 35 + 3 ms.
        var s = Scenario(only: ["frequency"])
        s.purchase("o1", at: T0)
        s.purchase("o2", at: at(days: 10, ms: 1))
        s.purchase("o3", at: at(days: 20, ms: 2))
        s.advance(to: at(days: 35, ms: 2))
        #expect(s.fired.isEmpty)
        s.advance(to: at(days: 35, ms: 3))
        #expect(s.fired == [Fired("frequency.fall", 1, at(days: 35, ms: 3))])
    }

    @Test func fallNeedsThreePurchases() {
        var s = Scenario(only: ["frequency"])
        s.purchase("o1", at: T0)
        s.purchase("o2", at: at(days: 10))
        s.advance(to: at(days: 400))
        #expect(s.fired.isEmpty)

        // A removal that leaves n = 2 before the due time: the condition is read when due.
        var r = Scenario(only: ["frequency"])
        r.purchase("o1", at: T0)
        r.purchase("o2", at: at(days: 10))
        r.purchase("o3", at: at(days: 20))
        r.order("o1", .returned, at: at(days: 21))
        r.advance(to: at(days: 400))
        #expect(r.fired.isEmpty)
    }

    @Test func aNewPurchaseCancelsThePendingFall() {
        // Due at day 35; a purchase at day 34: n = 4, mi = 34 d / 3, 1.5 x mi = 17 d: day 51.
        var s = Scenario(only: ["frequency"])
        s.purchase("o1", at: T0)
        s.purchase("o2", at: at(days: 10))
        s.purchase("o3", at: at(days: 20))
        s.purchase("o4", at: at(days: 34))
        s.advance(to: at(days: 51, ms: -1))
        #expect(s.fired.isEmpty)
        s.advance(to: at(days: 200))
        #expect(s.fired == [Fired("frequency.fall", 1, at(days: 51))])
    }

    @Test func aPurchaseAtTheDueInstantIsAppliedBeforeTheFallTimer() {
        // A purchase at exactly day 35 moves L first: n = 4, mi = 35 d / 3, 1.5 x mi = 17.5 d.
        var s = Scenario(only: ["frequency"])
        s.purchase("o1", at: T0)
        s.purchase("o2", at: at(days: 10))
        s.purchase("o3", at: at(days: 20))
        s.purchase("o4", at: at(days: 35))
        s.advance(to: at(days: 200))
        #expect(s.fired == [Fired("frequency.fall", 1, at(days: 52, hours: 12))])

        // Any other event at the instant does not hold the timer back.
        var v = Scenario(only: ["frequency"])
        v.purchase("o1", at: T0)
        v.purchase("o2", at: at(days: 10))
        v.purchase("o3", at: at(days: 20))
        v.view("p1", at: at(days: 35))
        #expect(v.fired.isEmpty, "the timer at t fires after the events at t")
        v.view("p2", at: at(days: 35, ms: 1))
        #expect(v.fired == [Fired("frequency.fall", 1, at(days: 35))])
    }
}

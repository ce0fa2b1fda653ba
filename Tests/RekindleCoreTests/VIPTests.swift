import RekindleCore
import Testing

/// Spec 3.4 (vip.entered), with 3.8 items 2, 3 and 8.
@Suite struct VIPTests {
    @Test func entersAtThePurchaseThatReachesFivePurchasesAndExactlyTwentyThousand() throws {
        var s = Scenario(only: ["vip"])
        for d in 0..<4 { s.purchase("o\(d)", at: at(days: Double(d)), total: 4000) }
        #expect(s.fired.isEmpty)
        s.purchase("o4", at: at(days: 4), total: 4000)
        #expect(s.fired == [Fired("vip.entered", 1, at(days: 4))], "total_spent == 20,000 is enough")
        let t = try #require(s.triggers.first)
        #expect(t.customer.vip == true)
        #expect(t.customer.completedOrders == 5)
        #expect(t.customer.totalSpent == 20000)
        #expect(t.customer.lastPurchaseAt == at(days: 4))
        #expect(t.channel == "email")
        #expect(t.conversionWindowDays == 7)
        #expect(t.triggerId == Trigger.id(ruleId: "vip.entered", customerId: "c1", firedAt: at(days: 4), touch: 1))
    }

    @Test func fivePurchasesBelowTwentyThousandDoNotQualify() {
        var s = Scenario(only: ["vip"])
        for d in 0..<4 { s.purchase("o\(d)", at: at(days: Double(d)), total: 4000) }
        s.purchase("o4", at: at(days: 4), total: 3999)
        #expect(s.fired.isEmpty, "n = 5, total 19,999")
        s.purchase("o5", at: at(days: 5), total: 1)
        #expect(s.fired == [Fired("vip.entered", 1, at(days: 5))], "n = 6, total 20,000")
    }

    @Test func twentyThousandInFewerThanFivePurchasesDoesNotQualify() {
        var s = Scenario(only: ["vip"])
        for d in 0..<4 { s.purchase("o\(d)", at: at(days: Double(d)), total: 10000) }
        #expect(s.fired.isEmpty, "n = 4, total 40,000")
        s.purchase("o4", at: at(days: 4), total: 1)
        #expect(s.fired == [Fired("vip.entered", 1, at(days: 4))])
    }

    @Test(arguments: OrderStatus.allCases)
    func aVipCardOnTheFirstOrderEventOfAnyStatusEntersAtOnce(status: OrderStatus) throws {
        var s = Scenario(only: ["vip"])
        s.view("p1", at: T0)
        s.order("o1", status, at: at(hours: 3), vip: true)
        #expect(s.fired == [Fired("vip.entered", 1, at(hours: 3))])
        let t = try #require(s.triggers.first)
        #expect(t.customer.vip == true)
        #expect(t.customer.completedOrders == (status == .completed ? 1 : 0))
    }

    @Test func aVipCardOnAnOrderEventThatHasNoEffectIsIgnored() {
        // 3.8 item 2: a repeated status or an already-applied event_id has no effect at all.
        var s = Scenario(only: ["vip"])
        s.order("o1", .created, at: T0, eventId: "x1")
        s.order("o1", .created, at: at(days: 1), vip: true)  // repeats the current status
        s.order("o1", .paid, at: at(days: 2), vip: true, eventId: "x1")  // re-delivered event id
        s.order("o1", .paid, at: at(days: 3))
        #expect(s.fired.isEmpty)
        s.order("o2", .created, at: at(days: 4), vip: true)
        #expect(s.fired == [Fired("vip.entered", 1, at(days: 4))])
    }

    @Test func firesOnceEvenWhenTheCustomerQualifiesTheOtherWayLater() {
        // Card first, then purchases.
        var s = Scenario(only: ["vip"])
        s.order("o0", .paid, at: T0, vip: true)
        for d in 1...6 { s.purchase("o\(d)", at: at(days: Double(d)), total: 5000) }
        s.order("o7", .created, at: at(days: 7), vip: true)
        #expect(s.fired == [Fired("vip.entered", 1, T0)])

        // Purchases first, then the card.
        var r = Scenario(only: ["vip"])
        for d in 0..<5 { r.purchase("o\(d)", at: at(days: Double(d)), total: 4000) }
        r.order("o5", .completed, at: at(days: 5), total: 100, vip: true)
        r.purchase("o6", at: at(days: 6), total: 4000)
        #expect(r.fired == [Fired("vip.entered", 1, at(days: 4))])
    }

    @Test func aLaterRemovalDoesNotUndoItAndRequalifyingDoesNotFireAgain() {
        var s = Scenario(only: ["vip"])
        for d in 0..<5 { s.purchase("o\(d)", at: at(days: Double(d)), total: 4000) }
        #expect(s.fired == [Fired("vip.entered", 1, at(days: 4))])
        s.order("o4", .returned, at: at(days: 5))  // n = 4, total 16,000: a removal fires nothing
        s.order("o3", .cancelled, at: at(days: 6))  // n = 3, total 12,000
        #expect(s.fired.count == 1)
        s.purchase("o5", at: at(days: 7), total: 4000)
        s.purchase("o6", at: at(days: 8), total: 4000)  // n = 5, total 20,000 again
        s.purchase("o7", at: at(days: 9), total: 50000)
        s.order("o8", .created, at: at(days: 10), vip: true)
        s.advance(to: at(days: 400))
        #expect(s.fired == [Fired("vip.entered", 1, at(days: 4))], "once per customer, ever")
    }

    @Test func eachCustomerEntersOnItsOwn() {
        var s = Scenario(only: ["vip"])
        s.order("a1", .created, at: T0, customer: "c2", vip: true)
        for d in 0..<5 { s.purchase("o\(d)", at: at(days: Double(d)), customer: "c1", total: 4000) }
        #expect(s.triggers.map(\.customerId) == ["c2", "c1"])
        #expect(s.fired == [Fired("vip.entered", 1, T0), Fired("vip.entered", 1, at(days: 4))])
    }

    // MARK: - Order of triggers (3.8 item 8)

    @Test func triggersOfOneEventComeInRuleIdOrder() throws {
        // The sixth purchase makes six in 30 days (frequency.rise) and n = 6, total 20,000
        // (vip.entered): "frequency.rise" < "vip.entered".
        var s = Scenario(only: ["frequency", "vip"])
        for d in 0..<5 { s.purchase("o\(d)", at: at(days: Double(d)), total: 3000) }
        #expect(s.fired.isEmpty)
        s.purchase("o5", at: at(days: 5), total: 5000)
        #expect(s.fired == [Fired("frequency.rise", 1, at(days: 5)), Fired("vip.entered", 1, at(days: 5))])
        for t in s.triggers {
            #expect(t.customer.completedOrders == 6, "\(t.ruleId): the facts just after the event")
            #expect(t.customer.totalSpent == 20000)
            #expect(t.customer.vip == true)
        }
    }

    @Test func anEventsTriggersComeBeforeATimerDueAtTheSameInstant() throws {
        // frequency.fall is due at day 35 (mi = 10 d); a VIP-card order event (not a purchase)
        // at day 35 fires vip.entered first, though "frequency.fall" < "vip.entered".
        var s = Scenario(only: ["frequency", "vip"])
        s.purchase("o1", at: T0)
        s.purchase("o2", at: at(days: 10))
        s.purchase("o3", at: at(days: 20))
        s.order("o4", .created, at: at(days: 35), vip: true)
        #expect(s.fired == [Fired("vip.entered", 1, at(days: 35))])
        s.advance(to: at(days: 35))
        #expect(s.fired == [Fired("vip.entered", 1, at(days: 35)), Fired("frequency.fall", 1, at(days: 35))])
        let fall = try #require(s.triggers("frequency.fall").first)
        #expect(fall.customer.vip == true, "the timer sees every event up to its instant")
        #expect(fall.customer.completedOrders == 3)
    }
}

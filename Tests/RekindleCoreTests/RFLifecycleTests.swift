import RekindleCore
import Testing

@Suite struct RFLifecycleTests {
    @Test func newCustomerGetsTouchOneAtTenDaysAndTouchTwoSixDaysLater() {
        var s = Scenario(only: ["rf"])
        s.purchase("o1", at: at(days: 0))
        s.advance(to: at(days: 10, ms: -1))
        #expect(s.fired("rf.new").isEmpty, "not 1 ms before L + 10 days")
        s.advance(to: at(days: 10))
        #expect(s.fired("rf.new") == [Fired("rf.new", 1, at(days: 10))])
        s.advance(to: at(days: 16, ms: -1))
        #expect(s.fired("rf.new").count == 1)
        s.advance(to: at(days: 16))
        #expect(s.fired("rf.new").last == Fired("rf.new", 2, at(days: 16)))
        #expect(s.triggers("rf.new")[0].conversionWindowDays == 7)
        #expect(s.triggers("rf.new")[0].channel == "email")
    }

    @Test func everyRuleFiresAtItsDaysForItsPurchaseCount() {
        // n = 1: new (10, +6), promising (25, +10), wandering (51, +12), dormant (75, +15).
        var one = Scenario(only: ["rf"])
        one.purchase("o1", at: T0)
        one.advance(to: at(days: 200))
        #expect(one.fired == [
            Fired("rf.new", 1, at(days: 10)), Fired("rf.new", 2, at(days: 16)),
            Fired("rf.promising", 1, at(days: 25)), Fired("rf.promising", 2, at(days: 35)),
            Fired("rf.wandering", 1, at(days: 51)), Fired("rf.wandering", 2, at(days: 63)),
            Fired("rf.dormant", 1, at(days: 75)), Fired("rf.dormant", 2, at(days: 90)),
        ])
        // n = 3: loyal (20, +14), at_risk (56, +10), lost (113, +30).
        var three = Scenario(only: ["rf"])
        three.purchase("o1", at: at(days: -20))
        three.purchase("o2", at: at(days: -10))
        three.purchase("o3", at: T0)
        three.clear()
        three.advance(to: at(days: 300))
        #expect(three.fired == [
            Fired("rf.loyal", 1, at(days: 20)), Fired("rf.loyal", 2, at(days: 34)),
            Fired("rf.at_risk", 1, at(days: 56)), Fired("rf.at_risk", 2, at(days: 66)),
            Fired("rf.lost", 1, at(days: 113)), Fired("rf.lost", 2, at(days: 143)),
        ])
        #expect(three.triggers("rf.at_risk")[0].conversionWindowDays == 2)
    }

    @Test func aNewPurchaseCancelsThePendingTouchesOfTheOldL() {
        var s = Scenario(only: ["rf"])
        s.purchase("o1", at: T0)
        s.purchase("o2", at: at(days: 9))  // n = 2 now: rf.new no longer applies; rf.promising from day 9.
        s.advance(to: at(days: 40))
        #expect(s.fired == [Fired("rf.promising", 1, at(days: 34))])
    }

    @Test func anEventAtTheDueInstantIsAppliedBeforeTheTimer() {
        // A purchase at exactly L + 10 days moves L first, so rf.new never fires.
        var s = Scenario(only: ["rf"])
        s.purchase("o1", at: T0)
        s.purchase("o2", at: at(days: 10))
        s.advance(to: at(days: 12))
        #expect(s.fired("rf.new").isEmpty)
        // Any other event at the due instant does not hold the timer back.
        var v = Scenario(only: ["rf"])
        v.purchase("o1", at: T0)
        v.view("p1", at: at(days: 10))
        #expect(v.fired.isEmpty, "the timer at t fires after events at t, not before them")
        v.view("p2", at: at(days: 10, ms: 1))
        #expect(v.fired == [Fired("rf.new", 1, at(days: 10))])
    }

    @Test func theTriggerCarriesTheCustomersFactsAtFiredAt() throws {
        var s = Scenario(only: ["rf"])
        s.purchase("o1", at: T0, total: 1000)
        s.purchase("o2", at: at(days: 5), total: 800.5)
        s.advance(to: at(days: 30))
        let t = try #require(s.triggers("rf.promising").first)
        #expect(t.firedAt == at(days: 30))
        #expect(t.customer.completedOrders == 2)
        #expect(t.customer.lastPurchaseAt == at(days: 5))
        #expect(t.customer.totalSpent == 1800.5)
        #expect(t.customer.vip == false)
        #expect(t.triggerId == Trigger.id(ruleId: "rf.promising", customerId: "c1", firedAt: at(days: 30), touch: 1))
    }
}

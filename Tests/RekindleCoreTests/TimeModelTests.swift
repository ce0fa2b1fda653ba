import RekindleCore
import Testing

@Suite struct TimeModelTests {
    @Test func timersDueAtTheSameInstantFireInCustomerRuleTouchOrder() {
        var s = Scenario(only: ["rf", "reanimation"])
        // Two customers whose touches fall at the same instants; "c10" sorts before "c9" by bytes.
        s.purchase("o1", at: T0, customer: "c9")
        s.purchase("o2", at: T0, customer: "c10")
        s.advance(to: at(days: 100))
        let atDay66 = s.triggers.filter { $0.firedAt == at(days: 66) }.map { "\($0.customerId) \($0.ruleId)" }
        #expect(atDay66 == ["c10 reanimation.one", "c9 reanimation.one"])
        // Every instant is grouped by customer (bytes), then rule_id, then touch.
        #expect(s.triggers.count > 10)
        for k in 1..<s.triggers.count {
            let a = s.triggers[k - 1], b = s.triggers[k]
            #expect(a.firedAt <= b.firedAt)
            if a.firedAt == b.firedAt && a.customerId == b.customerId {
                #expect(RuleSet.byteLess(a.ruleId, b.ruleId) || (a.ruleId == b.ruleId && a.touch < b.touch))
            }
            if a.firedAt == b.firedAt && a.customerId != b.customerId {
                #expect(RuleSet.byteLess(a.customerId, b.customerId))
            }
        }
    }

    @Test func timersDueBeforeAnEventFireBeforeItIsApplied() {
        var s = Scenario(only: ["rf", "vip"])
        s.purchase("o1", at: T0, total: 100)
        // The card at day 11 comes after rf.new touch 1 (day 10) in the output, and the touch
        // shows the facts before it (vip false).
        s.order("o2", .created, at: at(days: 11), vip: true)
        #expect(s.fired == [Fired("rf.new", 1, at(days: 10)), Fired("vip.entered", 1, at(days: 11))])
        #expect(s.triggers[0].customer.vip == false)
        #expect(s.triggers[1].customer.vip == true)
    }

    @Test func aLateEventUpdatesFactsFiresNothingAndIsCounted() throws {
        var s = Scenario(only: ["rf", "frequency", "engagement"])
        s.open(at: at(days: 50), customer: "other")  // the watermark is now day 50
        s.purchase("o1", at: at(days: 45))  // late: older than the watermark
        #expect(s.task.stats.lateEvents == 1)
        #expect(s.fired.isEmpty)
        s.advance(to: at(days: 100))
        // rf.new of L = day 45 (due day 55) is still ahead: it fires, with the late purchase's facts.
        let t = try #require(s.triggers("rf.new").first)
        #expect(t.firedAt == at(days: 55))
        #expect(t.customer.lastPurchaseAt == at(days: 45))
    }

    @Test func aLateEventNeverFiresATouchWhoseTimeHasPassed() {
        var s = Scenario(only: ["rf"])
        s.open(at: at(days: 12), customer: "other")
        s.purchase("o1", at: T0)  // late; rf.new touch 1 was due at day 10, already passed
        s.advance(to: at(days: 20))
        #expect(s.fired == [Fired("rf.new", 2, at(days: 16))])
    }

    @Test func allowedLatenessHoldsTimersBackAndAcceptsEventsThatMuchOlder() {
        var s = Scenario(rulesOnly(["rf"]), allowedLatenessMs: 2 * day)
        s.purchase("o1", at: T0)
        s.open(at: at(days: 11), customer: "other")
        #expect(s.fired.isEmpty, "the watermark is day 9: rf.new at day 10 waits")
        s.purchase("o2", at: at(days: 9, hours: 12))  // within the lateness: not late, moves L
        #expect(s.task.stats.lateEvents == 0)
        s.open(at: at(days: 30), customer: "other")  // watermark day 28: timers before it have fired
        #expect(s.fired.isEmpty, "n = 2 from day 9.5: rf.new no longer applies, rf.promising is at day 34.5")
        s.advance(to: at(days: 34, hours: 12))
        #expect(s.fired == [Fired("rf.promising", 1, at(days: 34, hours: 12))])
    }
}

import RekindleCore
import Testing

@Suite struct ConversionTests {
    @Test func aPurchaseInsideTheWindowConvertsToTheTouch() throws {
        var s = Scenario(only: ["rf"])
        s.purchase("o1", at: T0)
        s.advance(to: at(days: 10))  // rf.new #1, window 7 days
        s.purchase("o2", at: at(days: 11, hours: 6), total: 250.5)
        let c = try #require(s.conversions.first)
        let t = try #require(s.triggers.first)
        #expect(c == Conversion(
            triggerId: t.triggerId, ruleId: "rf.new", touch: 1, customerId: "c1", orderId: "o2",
            convertedAt: at(days: 11, hours: 6), revenue: 250.5, hoursAfterTrigger: 30))
    }

    @Test func theWindowIsOpenAtItsEndAndClosedAtItsStart() {
        let oneTouch = #""rf": {"rules": {"rf.new": {"second_touch_days": null}}}"#
        var edge = Scenario(only: ["rf"], overlay: oneTouch)
        edge.purchase("o1", at: T0)
        edge.advance(to: at(days: 10))
        edge.purchase("o2", at: at(days: 17))  // fired_at + 7 days: inside
        #expect(edge.conversions.map(\.touch) == [1])

        var after = Scenario(only: ["rf"], overlay: oneTouch)
        after.purchase("o1", at: T0)
        after.advance(to: at(days: 10))
        after.purchase("o2", at: at(days: 17, ms: 1))
        #expect(after.conversions.isEmpty)

        // A purchase at the very instant of the trigger is not after it.
        var same = Scenario(only: ["vip"])
        for k in 0..<5 { same.purchase("o\(k)", at: at(days: Double(k)), total: 5000) }
        #expect(same.fired("vip.entered") == [Fired("vip.entered", 1, at(days: 4))])
        #expect(same.conversions.isEmpty)
    }

    @Test func theLastTouchGetsTheCredit() throws {
        var s = Scenario(only: ["rf"])
        s.purchase("o1", at: T0)
        s.advance(to: at(days: 16))  // rf.new #1 at day 10 (window to 17), #2 at day 16 (window to 23)
        s.purchase("o2", at: at(days: 16, hours: 12))
        let c = try #require(s.conversions.first)
        #expect(c.touch == 2)
        #expect(c.hoursAfterTrigger == 12)
    }

    @Test func eachPurchaseConvertsOnceAndARemovalChangesNoConversion() {
        var s = Scenario(only: ["rf"])
        s.purchase("o1", at: T0)
        s.advance(to: at(days: 10))
        s.purchase("o2", at: at(days: 11))
        s.order("o2", .returned, at: at(days: 12))
        s.order("o2", .completed, at: at(days: 13))
        #expect(s.conversions.map(\.orderId) == ["o2"])
        // One touch may be credited with several purchases.
        s.purchase("o3", at: at(days: 14))
        #expect(s.conversions.map(\.orderId) == ["o2", "o3"])
        #expect(Set(s.conversions.map(\.triggerId)).count == 1)
    }
}

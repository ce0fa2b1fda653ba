import RekindleCore
import Testing

@Suite struct OrderStatusTests {
    @Test func onlyCompletedCountsAndThePurchaseTimeIsTheCompletingEvent() throws {
        var s = Scenario(only: ["rf"])
        s.order("o1", .created, at: T0, total: 500)
        s.order("o1", .paid, at: at(hours: 1), total: 500)
        s.advance(to: at(days: 30))
        #expect(s.fired.isEmpty, "created and paid are not purchases")
        s.order("o1", .completed, at: at(days: 31), total: 500)
        s.advance(to: at(days: 41))
        let t = try #require(s.triggers.first)
        #expect(t.ruleId == "rf.new" && t.firedAt == at(days: 41))
        #expect(t.customer.lastPurchaseAt == at(days: 31))
        #expect(t.customer.totalSpent == 500)
    }

    @Test func reDeliveryOfTheSameEventChangesNothing() {
        var once = Scenario(only: ["rf", "engagement", "frequency", "vip", "stage"])
        once.purchase("o1", at: T0, total: 100)
        once.advance(to: at(days: 200))
        var twice = Scenario(only: ["rf", "engagement", "frequency", "vip", "stage"])
        twice.order("o1", .completed, at: T0, total: 100, eventId: "x")
        twice.order("o1", .completed, at: T0, total: 100, eventId: "x")
        twice.order("o1", .completed, at: at(days: 20), total: 100, eventId: "x")
        twice.advance(to: at(days: 200))
        #expect(once.fired == twice.fired)
        #expect(twice.task.stats.ignoredOrderEvents == 2)
        #expect(twice.triggers.first?.customer.totalSpent == 100)
    }

    @Test func aRepeatedStatusWithANewEventIdHasNoEffectEitherNotEvenAsASignal() {
        var s = Scenario(only: ["engagement"])
        s.order("o1", .created, at: T0)
        s.order("o1", .created, at: at(days: 20))  // no signal: cooled stays at day 30
        s.advance(to: at(days: 30))
        #expect(s.fired == [Fired("engagement.cooled", 1, at(days: 30))])
    }

    @Test func cancelledOrReturnedAfterCompletedRemovesThePurchase() throws {
        for status in [OrderStatus.cancelled, .returned, .created, .paid] {
            var s = Scenario(only: ["rf"])
            s.purchase("o1", at: T0, total: 300)
            s.purchase("o2", at: at(days: 5), total: 200)
            s.order("o2", status, at: at(days: 6), total: 200)
            // L is back to T0 with n = 1: rf.new touch 1 at day 10 is armed again.
            s.advance(to: at(days: 10))
            let t = try #require(s.triggers.first, "after \(status)")
            #expect(Fired(t.ruleId, t.touch, t.firedAt) == Fired("rf.new", 1, at(days: 10)))
            #expect(t.customer.completedOrders == 1)
            #expect(t.customer.totalSpent == 300)
            #expect(t.customer.lastPurchaseAt == T0)
        }
    }

    @Test func aRemovalFiresNothingAndATouchWhoseTimeHasPassedNeverFiresLate() {
        var s = Scenario(only: ["rf"])
        s.purchase("o1", at: T0)
        s.purchase("o2", at: at(days: 5))
        // rf.new of L = T0 was due at day 10; the removal at day 12 restores L = T0 but day 10 has passed.
        s.order("o2", .returned, at: at(days: 12))
        #expect(s.fired.isEmpty)
        s.advance(to: at(days: 16))
        #expect(s.fired == [Fired("rf.new", 2, at(days: 16))])
    }

    @Test func aTouchOfARestoredLThatAlreadyFiredDoesNotFireAgain() {
        var s = Scenario(only: ["rf"])
        s.purchase("o1", at: T0)
        s.advance(to: at(days: 10))  // rf.new #1 (L = T0)
        s.purchase("o2", at: at(days: 11))
        s.order("o2", .returned, at: at(days: 12))
        s.advance(to: at(days: 25))
        #expect(s.fired == [Fired("rf.new", 1, at(days: 10)), Fired("rf.new", 2, at(days: 16)),
                            Fired("rf.promising", 1, at(days: 25))])
    }

    @Test func anOrderCompletedAgainAfterAReturnIsAPurchaseAgainAtItsNewTime() throws {
        var s = Scenario(only: ["rf"])
        s.purchase("o1", at: T0, total: 100)
        s.order("o1", .returned, at: at(days: 1), total: 100)
        s.order("o1", .completed, at: at(days: 2), total: 120)
        s.advance(to: at(days: 12))
        let t = try #require(s.triggers.first)
        #expect(t.firedAt == at(days: 12))
        #expect(t.customer.totalSpent == 120)
    }

    @Test func vipCardOnAnyOrderEventIsKeptForGood() throws {
        var s = Scenario(only: ["vip"])
        s.order("o1", .created, at: T0, vip: true)
        s.order("o1", .cancelled, at: at(hours: 1))
        s.advance(to: at(days: 1))
        let t = try #require(s.triggers.first)
        #expect(t.ruleId == "vip.entered" && t.firedAt == T0)
        #expect(t.customer.vip == true)
    }
}

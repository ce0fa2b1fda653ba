import RekindleCore
import Testing

/// Spec 3.5: `engagement.cooled` at `last signal + 30 days`, `engagement.rewarmed` at the signal
/// that ends a cold spell; 3.8 items 1 and 2 for what counts as a signal.
@Suite struct EngagementTests {
    /// Every kind of event spec 3.5 calls a signal.
    enum Signal: CaseIterable, Sendable, CustomStringConvertible {
        case view, open, click, created, paid, completed, cancelled, returned

        var description: String {
            switch self {
            case .view: "product view"
            case .open: "email open"
            case .click: "email click"
            case .created: "order created"
            case .paid: "order paid"
            case .completed: "order completed"
            case .cancelled: "order cancelled"
            case .returned: "order returned"
            }
        }

        /// Sends one such signal; `n` makes each order event a fresh order, so none repeats a status.
        func send(_ s: inout Scenario, at t: Millis, _ n: Int) {
            switch self {
            case .view: s.view("p\(n)", at: t)
            case .open: s.open(at: t)
            case .click: s.open(at: t, click: true)
            case .created: s.order("o\(n)", .created, at: t)
            case .paid: s.order("o\(n)", .paid, at: t)
            case .completed: s.order("o\(n)", .completed, at: t)
            case .cancelled: s.order("o\(n)", .cancelled, at: t)
            case .returned: s.order("o\(n)", .returned, at: t)
            }
        }
    }

    @Test func cooledFiresExactlyThirtyDaysAfterTheLastSignalAndNotOneMillisecondBefore() throws {
        var s = Scenario(only: ["engagement"])
        s.view("p1", at: at(hours: 5))
        s.advance(to: at(days: 30, hours: 5, ms: -1))
        #expect(s.triggers.isEmpty, "not 1 ms before last signal + 30 days")
        s.advance(to: at(days: 30, hours: 5))
        #expect(s.fired == [Fired("engagement.cooled", 1, at(days: 30, hours: 5))])
        s.advance(to: at(days: 400))
        #expect(s.fired.count == 1, "one cooled per cold spell, however long it lasts")

        let t = try #require(s.triggers.first)
        #expect(t.customerId == "c1")
        #expect(t.customer.cold == true)
        #expect(String(decoding: t.json, as: UTF8.self).contains("\"engagement\":\"cold\""))
        #expect(t.channel == "email")
        #expect(t.conversionWindowDays == 7)
        #expect(t.offer == nil)
        #expect(t.products == nil)
        #expect(t.recommendations == nil)
        #expect(t.triggerId == Trigger.id(
            ruleId: "engagement.cooled", customerId: "c1", firedAt: at(days: 30, hours: 5), touch: 1))
    }

    @Test func eachSignalMovesTheCooledTimeToThirtyDaysAfterIt() {
        var s = Scenario(only: ["engagement"])
        s.view("p1", at: T0)
        s.open(at: at(days: 10))
        s.advance(to: at(days: 40, ms: -1))
        #expect(s.triggers.isEmpty, "the signal at day 10 cancelled the cooled due at day 30")
        s.advance(to: at(days: 40))
        #expect(s.fired == [Fired("engagement.cooled", 1, at(days: 40))])
    }

    @Test func aSignalAtTheCooledInstantComesFirstAndKeepsTheCustomerWarm() {
        var s = Scenario(only: ["engagement"])
        s.view("p1", at: T0)
        s.open(at: at(days: 30))  // exactly last signal + 30 days: applied before the timer due then.
        #expect(s.triggers.isEmpty, "neither cooled nor rewarmed at the signal")
        s.advance(to: at(days: 30))
        #expect(s.triggers.isEmpty, "the customer never went cold at day 30")
        s.advance(to: at(days: 60, ms: -1))
        #expect(s.triggers.isEmpty)
        s.advance(to: at(days: 60))
        #expect(s.fired == [Fired("engagement.cooled", 1, at(days: 60))])
    }

    @Test func aSignalOneMillisecondAfterTheCooledInstantFollowsTheCooledAndRewarms() {
        // No advance: the event at day 30 + 1 ms lets the timer due at day 30 fire first.
        var s = Scenario(only: ["engagement"])
        s.view("p1", at: T0)
        s.view("p2", at: at(days: 30, ms: 1))
        #expect(s.fired == [
            Fired("engagement.cooled", 1, at(days: 30)),
            Fired("engagement.rewarmed", 1, at(days: 30, ms: 1)),
        ])
    }

    @Test(arguments: Signal.allCases)
    func everySignalKindIsASignal(_ kind: Signal) {
        var s = Scenario(only: ["engagement"])
        // As a first signal: fires nothing, and starts the 30 days.
        kind.send(&s, at: T0, 1)
        #expect(s.triggers.isEmpty, "a customer's first signal (\(kind)) fires nothing")
        s.advance(to: at(days: 30))
        #expect(s.fired == [Fired("engagement.cooled", 1, at(days: 30))])
        // As the signal that ends a cold spell.
        kind.send(&s, at: at(days: 40), 2)
        #expect(s.fired.last == Fired("engagement.rewarmed", 1, at(days: 40)), "\(kind) ends a cold spell")
        // As a signal that keeps a warm customer warm: it moves cooled from day 70 to day 80.
        kind.send(&s, at: at(days: 50), 3)
        s.advance(to: at(days: 80, ms: -1))
        #expect(s.fired.count == 2, "\(kind) at day 50 moved the cooled due at day 70")
        s.advance(to: at(days: 80))
        #expect(s.fired == [
            Fired("engagement.cooled", 1, at(days: 30)),
            Fired("engagement.rewarmed", 1, at(days: 40)),
            Fired("engagement.cooled", 1, at(days: 80)),
        ])
    }

    @Test func rewarmedFiresAtTheFirstSignalAfterACooledWithThatSignalsTime() throws {
        var s = Scenario(only: ["engagement"])
        s.open(at: T0)
        s.advance(to: at(days: 31))
        s.clear()
        s.view("p1", at: at(days: 35, hours: 5, ms: 7))
        #expect(s.fired == [Fired("engagement.rewarmed", 1, at(days: 35, hours: 5, ms: 7))])
        let t = try #require(s.triggers.first)
        #expect(t.customer.cold == false)
        #expect(String(decoding: t.json, as: UTF8.self).contains("\"engagement\":\"warm\""))
        #expect(t.channel == "email")
        #expect(t.conversionWindowDays == 7)
        #expect(t.offer == nil && t.products == nil && t.recommendations == nil)
        #expect(t.triggerId == Trigger.id(
            ruleId: "engagement.rewarmed", customerId: "c1", firedAt: at(days: 35, hours: 5, ms: 7), touch: 1))
    }

    @Test func rewarmedFiresOncePerColdSpellAndEverySpellHasItsOwnCooled() {
        var s = Scenario(only: ["engagement"])
        s.view("p1", at: T0)
        s.advance(to: at(days: 30))
        // Three signals at one instant, one the next day: only the first ends the spell.
        s.view("p2", at: at(days: 35))
        s.open(at: at(days: 35))
        s.order("o1", .created, at: at(days: 35))
        s.open(at: at(days: 36), click: true)
        // Warm from day 36: cold again at day 66; a signal at day 70 ends that second spell.
        s.advance(to: at(days: 66, ms: -1))
        #expect(s.fired.count == 2)
        s.advance(to: at(days: 66))
        s.open(at: at(days: 70))
        s.open(at: at(days: 71))
        #expect(s.fired == [
            Fired("engagement.cooled", 1, at(days: 30)),
            Fired("engagement.rewarmed", 1, at(days: 35)),
            Fired("engagement.cooled", 1, at(days: 66)),
            Fired("engagement.rewarmed", 1, at(days: 70)),
        ], "touch 1 every time, however often it fires")
        let ids = Set(s.triggers.map(\.triggerId))
        #expect(ids.count == 4)
    }

    @Test func aRedeliveredOrderEventIsNotASignal() {
        var s = Scenario(only: ["engagement"])
        s.order("o1", .created, at: T0, eventId: "x1")
        // The same event id again, even later and with another status: no effect at all.
        s.order("o1", .paid, at: at(days: 10), eventId: "x1")
        s.advance(to: at(days: 30, ms: -1))
        #expect(s.triggers.isEmpty)
        s.advance(to: at(days: 30))
        #expect(s.fired == [Fired("engagement.cooled", 1, at(days: 30))], "still due 30 days after day 0, not day 10")
        // While cold, it does not end the spell either.
        s.order("o1", .paid, at: at(days: 35), eventId: "x1")
        #expect(s.fired.count == 1, "a re-delivered order event does not rewarm")
        s.advance(to: at(days: 200))
        #expect(s.fired.count == 1, "and does not start another 30 days")
        #expect(s.task.stats.ignoredOrderEvents == 2)
        // A genuine signal does.
        s.order("o1", .paid, at: at(days: 201), eventId: "x2")
        #expect(s.fired.last == Fired("engagement.rewarmed", 1, at(days: 201)))
    }

    @Test func anOrderEventRepeatingTheCurrentStatusIsNotASignal() {
        var s = Scenario(only: ["engagement"])
        s.order("o1", .created, at: T0)
        s.order("o1", .created, at: at(days: 10))  // new event id, same status: no effect at all.
        s.advance(to: at(days: 30))
        #expect(s.fired == [Fired("engagement.cooled", 1, at(days: 30))])
        s.order("o1", .created, at: at(days: 35))
        #expect(s.fired.count == 1, "a repeated status does not rewarm")
        s.order("o1", .paid, at: at(days: 36))  // a new status is a signal.
        #expect(s.fired == [
            Fired("engagement.cooled", 1, at(days: 30)),
            Fired("engagement.rewarmed", 1, at(days: 36)),
        ])
    }

    @Test func aRepeatedCompletedStatusDoesNotKeepTheCustomerWarm() {
        var s = Scenario(only: ["engagement"])
        s.purchase("o1", at: T0)
        s.purchase("o1", at: at(days: 20))  // completed again: ignored.
        s.advance(to: at(days: 30))
        #expect(s.fired == [Fired("engagement.cooled", 1, at(days: 30))])
        #expect(s.triggers[0].customer.completedOrders == 1)
    }

    @Test func cooledTimersDueAtOneInstantFireInCustomerIdOrder() {
        var s = Scenario(only: ["engagement"])
        s.view("p1", at: T0, customer: "zed")
        s.view("p1", at: T0, customer: "amy")
        s.view("p1", at: at(days: 1), customer: "bob")
        s.advance(to: at(days: 31))
        #expect(s.triggers.map(\.customerId) == ["amy", "zed", "bob"])
        #expect(s.fired.map(\.at) == [at(days: 30), at(days: 30), at(days: 31)])
    }

    @Test func customersCoolAndRewarmIndependently() {
        var s = Scenario(only: ["engagement"])
        s.view("p1", at: T0, customer: "c1")
        s.view("p1", at: at(days: 20), customer: "c2")
        s.open(at: at(days: 40), customer: "c2")  // c2 warm (last signal day 20); c1 cooled at day 30.
        #expect(s.triggers.map(\.customerId) == ["c1"])
        #expect(s.fired == [Fired("engagement.cooled", 1, at(days: 30))])
        s.open(at: at(days: 41), customer: "c1")
        #expect(s.triggers.last?.customerId == "c1")
        #expect(s.fired.last == Fired("engagement.rewarmed", 1, at(days: 41)))
        s.advance(to: at(days: 70))
        #expect(s.triggers.last?.customerId == "c2")
        #expect(s.fired.last == Fired("engagement.cooled", 1, at(days: 70)))
    }

    @Test func aRewarmedFiredByAnEventComesBeforeATimerDueAtTheSameInstant() {
        var s = Scenario(only: ["engagement"])
        s.view("p1", at: T0, customer: "c1")
        s.view("p1", at: at(days: 10), customer: "c0")  // c0 cools at day 40.
        s.advance(to: at(days: 30))  // c1 cooled at day 30.
        s.open(at: at(days: 40), customer: "c1")  // the event at day 40 precedes c0's timer due then.
        s.advance(to: at(days: 40))
        #expect(s.triggers.map(\.customerId) == ["c1", "c1", "c0"])
        #expect(s.fired == [
            Fired("engagement.cooled", 1, at(days: 30)),
            Fired("engagement.rewarmed", 1, at(days: 40)),
            Fired("engagement.cooled", 1, at(days: 40)),
        ])
    }

    @Test func cooledAndAbandonedViewOfOneCustomerAtOneInstantFireInRuleIdOrder() throws {
        // view.abandoned delayed by 30 days (and a 31-day window, so the view is still carried): both
        // are due at day 30, in rule_id order, and the abandoned-view trigger sees the customer
        // cold, as they are at fired_at.
        let overlay = "\"views\": {\"rules\": {\"view.abandoned\": {\"delay_minutes\": 43200, \"window_hours\": 744}}}"
        var s = Scenario(only: ["engagement", "views"], overlay: overlay)
        s.view("p1", at: T0)
        s.advance(to: at(days: 30, ms: -1))
        #expect(s.triggers.isEmpty)
        s.advance(to: at(days: 30))
        #expect(s.fired == [Fired("engagement.cooled", 1, at(days: 30)), Fired("view.abandoned", 1, at(days: 30))])
        let v = try #require(s.triggers.last)
        #expect(v.customer.cold == true)

        // With the default delay, each fires at its own instant and neither holds the other back.
        var d = Scenario(only: ["engagement", "views"])
        d.view("p1", at: T0)
        d.view("p2", at: at(days: 5))
        d.advance(to: at(days: 60))
        #expect(d.fired == [
            Fired("view.abandoned", 1, at(hours: 1)),
            Fired("view.abandoned", 1, at(days: 5, hours: 1)),
            Fired("engagement.cooled", 1, at(days: 35)),
        ])
        #expect(d.triggers[0].customer.cold == false)
    }
}

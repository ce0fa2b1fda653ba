import RekindleCore
import Testing

/// Spec 3.3 (lifecycle stage by the customer's own rhythm), with the Arithmetic paragraph of
/// section 3, 3.8 items 3, 4, 6 and 8, and the time model of section 4.
///
/// `mean_interval = Double(L - first) / Double(n - 1)` ms (n >= 2; 65 days for n = 1 or when
/// shorter than a day); `L + k x mean_interval` is `L + floor(k x mean_interval)`.
@Suite struct StageTests {
    // MARK: - Due times, to the millisecond

    @Test func replenishAtRiskAndLapsedFireAtTheFlooredMultiplesOfTheMeanInterval() throws {
        // Purchases 10 days + 1 ms apart: L - first = 20 d + 2 ms, mean_interval = 864,000,001 ms.
        // 0.9 x mi = 777,600,000.9 -> 9 d + 0 ms (rounding to nearest would give + 1 ms);
        // 1.1 x mi = 950,400,001.1 -> 11 d + 1 ms; 2 x mi = 1,728,000,002 -> 20 d + 2 ms.
        var s = Scenario(only: ["stage"])
        s.purchase("o1", at: at(days: 0))
        s.purchase("o2", at: at(days: 10, ms: 1))
        s.purchase("o3", at: at(days: 20, ms: 2))
        // Between o2 and o3, n = 2 and mi = 10 d + 1 ms: replenish(L = o2) fired at 10 d + 1 ms + 9 d.
        #expect(s.fired == [Fired("stage.replenish", 1, at(days: 19, ms: 1))])
        s.clear()
        s.advance(to: at(days: 29, ms: 1))
        #expect(s.fired.isEmpty, "not 1 ms before L + floor(0.9 x mi)")
        s.advance(to: at(days: 29, ms: 2))
        #expect(s.fired == [Fired("stage.replenish", 1, at(days: 29, ms: 2))])
        s.advance(to: at(days: 31, ms: 2))
        #expect(s.fired.count == 1, "not 1 ms before L + floor(1.1 x mi)")
        s.advance(to: at(days: 31, ms: 3))
        #expect(s.fired.last == Fired("stage.at_risk", 1, at(days: 31, ms: 3)))
        s.advance(to: at(days: 40, ms: 3))
        #expect(s.fired.count == 2, "not 1 ms before L + 2 x mi")
        s.advance(to: at(days: 400))
        #expect(s.fired == [
            Fired("stage.replenish", 1, at(days: 29, ms: 2)),
            Fired("stage.at_risk", 1, at(days: 31, ms: 3)),
            Fired("stage.lapsed", 1, at(days: 40, ms: 4)),
        ], "each fires once, as touch 1; no stage.prospect for a customer whose first event was a purchase")
    }

    @Test func aFractionalMeanIntervalIsRoundedDownOnceAfterMultiplying() {
        // L - first = 20 d + 1 ms over 2 intervals: mean_interval = 864,000,000.5 ms (kept fractional).
        // 0.9 x mi = 777,600,000.45 -> 9 d; 1.1 x mi = 950,400,000.55 -> 11 d (not 11 d + 1 ms);
        // 2 x mi = 1,728,000,001 -> 20 d + 1 ms (flooring mi first would give 20 d).
        var s = Scenario(only: ["stage"])
        s.purchase("o1", at: at(days: 0))
        s.purchase("o2", at: at(days: 10))
        s.purchase("o3", at: at(days: 20, ms: 1))
        #expect(s.fired == [Fired("stage.replenish", 1, at(days: 19))], "replenish of L = day 10, before o3")
        s.clear()
        s.advance(to: at(days: 40, ms: 1))
        #expect(s.fired == [
            Fired("stage.replenish", 1, at(days: 29, ms: 1)),
            Fired("stage.at_risk", 1, at(days: 31, ms: 1)),
        ], "stage.lapsed is not due yet at L + 20 d")
        s.advance(to: at(days: 40, ms: 2))
        #expect(s.fired.last == Fired("stage.lapsed", 1, at(days: 40, ms: 2)))
        #expect(s.fired.count == 3)
    }

    @Test func oneTimeBuyerUsesTheSixtyFiveDayFallbackAndGetsNoReplenish() {
        // n = 1: mean_interval = 65 d. at_risk at L + 71.5 d, lapsed at L + 130 d; replenish needs n >= 2.
        var s = Scenario(only: ["stage"])
        s.purchase("o1", at: at(days: 5))
        s.advance(to: at(days: 76, hours: 12, ms: -1))
        #expect(s.fired.isEmpty)
        s.advance(to: at(days: 400))
        #expect(s.fired == [
            Fired("stage.at_risk", 1, at(days: 76, hours: 12)),
            Fired("stage.lapsed", 1, at(days: 135)),
        ])
    }

    @Test func aMeanIntervalShorterThanOneDayFallsBackToSixtyFiveDays() {
        // Two purchases 12 hours apart: 0.5 d < 1 d, so mean_interval = 65 d.
        var s = Scenario(only: ["stage"])
        s.purchase("o1", at: at(days: 0))
        s.purchase("o2", at: at(hours: 12))
        s.advance(to: at(days: 400))
        #expect(s.fired == [
            Fired("stage.replenish", 1, at(days: 59)),  // L + 58.5 d
            Fired("stage.at_risk", 1, at(days: 72)),  // L + 71.5 d
            Fired("stage.lapsed", 1, at(days: 130, hours: 12)),  // L + 130 d
        ])
    }

    @Test func aMeanIntervalOfExactlyOneDayIsTheCustomersOwn() {
        // "shorter than one day" falls back; exactly one day does not.
        // 0.9 d = 21 h 36 min, floor(1.1 x 86,400,000) = 95,040,000 = 26 h 24 min, 2 d.
        var s = Scenario(only: ["stage"])
        s.purchase("o1", at: at(days: 0))
        s.purchase("o2", at: at(days: 1))
        s.advance(to: at(days: 10))
        #expect(s.fired == [
            Fired("stage.replenish", 1, at(days: 1, hours: 21, minutes: 36)),
            Fired("stage.at_risk", 1, at(days: 2, hours: 2, minutes: 24)),
            Fired("stage.lapsed", 1, at(days: 3)),
        ])
    }

    // MARK: - customer.stage

    @Test func eachTriggerCarriesTheStageTheCustomerIsInAtFiredAt() throws {
        var s = Scenario(only: ["stage"])
        s.purchase("o1", at: at(days: 0), total: 50)
        s.purchase("o2", at: at(days: 10), total: 70)
        s.advance(to: at(days: 100))
        let replenish = try #require(s.triggers("stage.replenish").first)
        #expect(replenish.firedAt == at(days: 19))
        #expect(replenish.customer.stage == .active, "L + 0.9 x mi: still active")
        let atRisk = try #require(s.triggers("stage.at_risk").first)
        #expect(atRisk.firedAt == at(days: 21))
        #expect(atRisk.customer.stage == .atRisk, "gap >= 1.1 x mi at the instant it fires")
        let lapsed = try #require(s.triggers("stage.lapsed").first)
        #expect(lapsed.firedAt == at(days: 30))
        #expect(lapsed.customer.stage == .lapsed)
        #expect(lapsed.customer.completedOrders == 2)
        #expect(lapsed.customer.lastPurchaseAt == at(days: 10))
        #expect(lapsed.customer.totalSpent == 120)
        #expect(lapsed.touch == 1)
        #expect(lapsed.channel == "email")
        #expect(lapsed.conversionWindowDays == 7)
        #expect(lapsed.recommendations == nil && lapsed.products == nil && lapsed.offer == nil)
        #expect(lapsed.triggerId == Trigger.id(ruleId: "stage.lapsed", customerId: "c1", firedAt: at(days: 30), touch: 1))
        #expect(atRisk.customer.stage?.rawValue == "at_risk")

        var p = Scenario(only: ["stage"])
        p.view("p1", at: T0)
        p.advance(to: at(days: 3))
        let prospect = try #require(p.triggers("stage.prospect").first)
        #expect(prospect.customer.stage == .prospect)
        #expect(prospect.customer.completedOrders == 0)
        #expect(prospect.customer.lastPurchaseAt == nil)
        #expect(prospect.customer.totalSpent == 0)
    }

    // MARK: - stage.prospect

    @Test func prospectFiresThreeDaysAfterFirstSeenOnce() {
        var s = Scenario(only: ["stage"])
        s.view("p1", at: at(hours: 5))
        s.view("p2", at: at(days: 2))  // a later event does not move "first seen"
        s.open(at: at(days: 3, hours: 5, ms: -1))
        #expect(s.fired.isEmpty, "not 1 ms before first seen + 3 days")
        s.advance(to: at(days: 3, hours: 5))
        #expect(s.fired == [Fired("stage.prospect", 1, at(days: 3, hours: 5))])
        s.view("p3", at: at(days: 10))
        s.open(at: at(days: 20))
        s.advance(to: at(days: 400))
        #expect(s.fired == [Fired("stage.prospect", 1, at(days: 3, hours: 5))], "not again")
    }

    @Test func anyEventMakesTheCustomerSeenAndDueProspectsFireInCustomerIdOrder() {
        // A view, an email open and a non-completed order all make a customer "seen";
        // timers due at the same instant fire in customer_id order (section 4).
        var s = Scenario(only: ["stage"])
        s.order("o1", .created, at: T0, customer: "c3")
        s.open(at: T0, customer: "c2")
        s.view("p1", at: T0, customer: "c1")
        s.order("o2", .paid, at: T0, customer: "c4")
        s.order("o3", .cancelled, at: T0, customer: "c0")
        s.advance(to: at(days: 3))
        #expect(s.triggers.map(\.customerId) == ["c0", "c1", "c2", "c3", "c4"])
        #expect(s.triggers.allSatisfy { $0.ruleId == "stage.prospect" && $0.firedAt == at(days: 3) })
    }

    @Test func noProspectForACustomerWhoseFirstEventIsAPurchase() {
        var s = Scenario(only: ["stage"])
        s.purchase("o1", at: T0)
        s.advance(to: at(days: 400))
        #expect(s.fired("stage.prospect").isEmpty)
    }

    @Test func noProspectWhenAPurchaseCameBeforeTheDueInstant() {
        var s = Scenario(only: ["stage"])
        s.view("p1", at: T0)
        s.purchase("o1", at: at(days: 1))
        s.advance(to: at(days: 400))
        #expect(s.fired("stage.prospect").isEmpty)
        #expect(s.fired("stage.at_risk") == [Fired("stage.at_risk", 1, at(days: 72, hours: 12))])
    }

    @Test func prospectStillFiresWhenThePurchaseWasReturnedBeforeTheDueInstant() throws {
        // 3.8 item 6: "without a purchase" means n = 0 at that instant.
        var s = Scenario(only: ["stage"])
        s.view("p1", at: T0)
        s.purchase("o1", at: at(days: 1))
        s.order("o1", .returned, at: at(days: 2))
        s.advance(to: at(days: 400))
        #expect(s.fired == [Fired("stage.prospect", 1, at(days: 3))], "the removed purchase's touches are gone too")
        let t = try #require(s.triggers.first)
        #expect(t.customer.completedOrders == 0)
        #expect(t.customer.stage == .prospect)
    }

    // MARK: - Ties: an event at t is applied before a timer due at t

    @Test func aPurchaseAtTheDueInstantIsAppliedFirstAndCancelsTheTouch() {
        // n = 1 at T0: at_risk due at 71.5 d. A purchase at exactly that instant moves L first.
        var s = Scenario(only: ["stage"])
        s.purchase("o1", at: T0)
        s.purchase("o2", at: at(days: 71, hours: 12))
        s.advance(to: at(days: 100))
        #expect(s.fired.isEmpty, "stage.at_risk of the old L never fires; the new L's touches are later")

        // The same for replenish (n = 2, mi = 10 d, due at day 19).
        var r = Scenario(only: ["stage"])
        r.purchase("o1", at: T0)
        r.purchase("o2", at: at(days: 10))
        r.purchase("o3", at: at(days: 19))
        r.advance(to: at(days: 20))
        #expect(r.fired.isEmpty)

        // And for prospect: a purchase at first seen + 3 days makes n = 1 at the due instant.
        var p = Scenario(only: ["stage"])
        p.view("p1", at: T0)
        p.purchase("o1", at: at(days: 3))
        p.advance(to: at(days: 10))
        #expect(p.fired.isEmpty)
    }

    @Test func anotherEventAtTheDueInstantDoesNotHoldTheTimerBack() throws {
        var s = Scenario(only: ["stage"])
        s.purchase("o1", at: T0)
        s.view("p1", at: at(days: 71, hours: 12))
        #expect(s.fired.isEmpty, "the timer at t fires after the events at t")
        s.view("p2", at: at(days: 71, hours: 12, ms: 1))
        #expect(s.fired == [Fired("stage.at_risk", 1, at(days: 71, hours: 12))])
        let t = try #require(s.triggers.first)
        #expect(t.customer.stage == .atRisk)

        var p = Scenario(only: ["stage"])
        p.view("p1", at: T0)
        p.open(at: at(days: 3))
        #expect(p.fired.isEmpty)
        p.advance(to: at(days: 3))
        #expect(p.fired == [Fired("stage.prospect", 1, at(days: 3))])
    }

    // MARK: - Removal of a purchase (3.8 items 3 and 4)

    @Test func aRemovalFiresNothingAndRestoresTheOlderLWithItsTouchesStillAhead() throws {
        // o1 T0, o2 day 10: n = 2, mi = 10 d; replenish(L = day 10) fires at day 19.
        // o3 at day 20 moves L; returning it at day 20 12 h restores L = day 10: replenish already
        // fired, at_risk (day 21) and lapsed (day 30) are still ahead and armed again.
        var s = Scenario(only: ["stage"])
        s.purchase("o1", at: T0)
        s.purchase("o2", at: at(days: 10))
        s.purchase("o3", at: at(days: 20))
        #expect(s.fired == [Fired("stage.replenish", 1, at(days: 19))])
        s.order("o3", .returned, at: at(days: 20, hours: 12))
        #expect(s.fired.count == 1, "a removal fires nothing")
        s.advance(to: at(days: 100))
        #expect(s.fired == [
            Fired("stage.replenish", 1, at(days: 19)),
            Fired("stage.at_risk", 1, at(days: 21)),
            Fired("stage.lapsed", 1, at(days: 30)),
        ])
        let t = try #require(s.triggers("stage.at_risk").first)
        #expect(t.customer.completedOrders == 2)
        #expect(t.customer.lastPurchaseAt == at(days: 10))
        #expect(t.customer.totalSpent == 200)
    }

    @Test func removingTheLastPurchaseMovesTheTouchesBackToTheRestoredRhythm() {
        // o3 at day 12 gives L = 12, mi = 6 d (replenish 17.4 d, at_risk 18.6 d, lapsed 24 d).
        // Returned at day 13: n = 2, L = day 10, mi = 10 d: 19, 21, 30.
        var s = Scenario(only: ["stage"])
        s.purchase("o1", at: T0)
        s.purchase("o2", at: at(days: 10))
        s.purchase("o3", at: at(days: 12))
        s.order("o3", .returned, at: at(days: 13))
        s.advance(to: at(days: 100))
        #expect(s.fired == [
            Fired("stage.replenish", 1, at(days: 19)),
            Fired("stage.at_risk", 1, at(days: 21)),
            Fired("stage.lapsed", 1, at(days: 30)),
        ])
    }

    @Test func removingTheFirstPurchaseRecomputesFirstAndMovesTheTouchesOfTheSameL() throws {
        // o1 T0, o2 day 16, o3 day 20: mi = 10 d (29, 31, 40). o1 returned at day 21:
        // n = 2, first = day 16, L = day 20, mi = 4 d: replenish at L + 3.6 d = day 23 14:24,
        // at_risk at L + floor(4.4 d) = day 24 09:36, lapsed at L + 8 d = day 28.
        var s = Scenario(only: ["stage"])
        s.purchase("o1", at: T0, total: 10)
        s.purchase("o2", at: at(days: 16), total: 20)
        s.purchase("o3", at: at(days: 20), total: 40)
        s.order("o1", .returned, at: at(days: 21))
        s.advance(to: at(days: 100))
        #expect(s.fired == [
            Fired("stage.replenish", 1, at(days: 23, hours: 14, minutes: 24)),
            Fired("stage.at_risk", 1, at(days: 24, hours: 9, minutes: 36)),
            Fired("stage.lapsed", 1, at(days: 28)),
        ])
        let t = try #require(s.triggers.first)
        #expect(t.customer.completedOrders == 2)
        #expect(t.customer.lastPurchaseAt == at(days: 20))
        #expect(t.customer.totalSpent == 60)
    }

    @Test func aTouchWhoseTimeHasPassedNeverFiresLate() {
        // Same purchases; o1 returned at day 25 instead: replenish (23.6 d) and at_risk (24.4 d)
        // have passed by then and never fire; lapsed (day 28) is still ahead.
        var s = Scenario(only: ["stage"])
        s.purchase("o1", at: T0)
        s.purchase("o2", at: at(days: 16))
        s.purchase("o3", at: at(days: 20))
        s.order("o1", .returned, at: at(days: 25))
        s.advance(to: at(days: 100))
        #expect(s.fired == [Fired("stage.lapsed", 1, at(days: 28))])
    }

    @Test func aFiredTouchDoesNotFireAgainWhenARemovalMovesItsTimeLater() {
        // o1 T0, o2 day 10 (replenish(L = day 10) fires at day 19), o3 day 20: mi = 10 d;
        // replenish(L = day 20) fires at day 29. o2 returned at day 30: n = 2, L still day 20,
        // mi = 20 d: replenish(L = day 20) would be due at day 38 but has fired; at_risk moves
        // from day 31 to day 42, lapsed to day 60.
        var s = Scenario(only: ["stage"])
        s.purchase("o1", at: T0)
        s.purchase("o2", at: at(days: 10))
        s.purchase("o3", at: at(days: 20))
        s.advance(to: at(days: 29))
        #expect(s.fired == [Fired("stage.replenish", 1, at(days: 19)), Fired("stage.replenish", 1, at(days: 29))])
        s.order("o2", .returned, at: at(days: 30))
        s.advance(to: at(days: 100))
        #expect(s.fired == [
            Fired("stage.replenish", 1, at(days: 19)),
            Fired("stage.replenish", 1, at(days: 29)),
            Fired("stage.at_risk", 1, at(days: 42)),
            Fired("stage.lapsed", 1, at(days: 60)),
        ])
    }

    @Test func aFiredTouchDoesNotFireAgainWhenItsLComesBackThroughLateEvents() {
        // 3.8 item 4: a touch (rule, L, touch) fires at most once, even if its time later moves.
        // replenish(L = day 10) fires at day 19; o2 is returned at day 20 (L = T0), then two late
        // events (allowed: late events change facts) complete o0 at day -100 and o2 again at
        // day 10: n = 3, first = day -100, L = day 10 again, mi = 55 d. replenish(L = day 10)
        // is now due at day 59.5 but has fired; at_risk(L = day 10) never fired and is due at
        // day 70.5; lapsed at day 120.
        var s = Scenario(only: ["stage"])
        s.purchase("o1", at: T0)
        s.purchase("o2", at: at(days: 10))
        s.advance(to: at(days: 19))
        #expect(s.fired == [Fired("stage.replenish", 1, at(days: 19))])
        s.order("o2", .returned, at: at(days: 20))
        s.purchase("o0", at: at(days: -100))
        s.purchase("o2", at: at(days: 10))
        #expect(s.task.stats.lateEvents == 2)
        s.advance(to: at(days: 400))
        #expect(s.fired == [
            Fired("stage.replenish", 1, at(days: 19)),
            Fired("stage.at_risk", 1, at(days: 70, hours: 12)),
            Fired("stage.lapsed", 1, at(days: 120)),
        ])
    }
}

import RekindleCore
import Testing

@Suite struct ReanimationTests {
    @Test func oneTimeBuyerGetsTheChainAt66Then80Then94Days() throws {
        var s = Scenario(only: ["reanimation"])
        s.purchase("o1", at: T0, total: 1000)
        s.advance(to: at(days: 66, ms: -1))
        #expect(s.fired.isEmpty)
        s.advance(to: at(days: 200))
        #expect(s.fired == [
            Fired("reanimation.one", 1, at(days: 66)), Fired("reanimation.one", 2, at(days: 80)),
            Fired("reanimation.one", 3, at(days: 94)),
        ])
        let t = s.triggers
        // Gift cap: average check 1000 x 0.4 x 0.5 = 200 points, above both gifts.
        #expect(t[0].offer == Offer(bonusPoints: 100, validUntil: at(days: 73)))
        #expect(t[0].channel == "sms")
        #expect(t[0].conversionWindowDays == 7)
        #expect(t[1].offer == Offer(bonusPoints: 180, validUntil: at(days: 87)))
        #expect(t[2].offer == nil)
        #expect(t[2].channel == "manager")
        #expect(t[2].conversionWindowDays == 14)
    }

    @Test func giftPointsAreCappedByTheCustomersOwnAverageCheck() throws {
        // Two purchases of 300 and 601: average 450.5 x 0.2 = 90.1 -> 90 points (cap below 100 and 180).
        var s = Scenario(only: ["reanimation"])
        s.purchase("o1", at: T0, total: 300)
        s.purchase("o2", at: at(days: 1), total: 601)
        s.advance(to: at(days: 1 + 80 + 14))
        #expect(s.fired("reanimation.few").map(\.at) == [at(days: 81), at(days: 95)])
        #expect(s.triggers.map { $0.offer?.bonusPoints } == [90, 90])
    }

    @Test func aGiftThatFloorsToZeroStillFires() throws {
        var s = Scenario(only: ["reanimation"])
        s.purchase("o1", at: T0, total: 4.99)  // 4.99 x 0.2 = 0.998 -> 0
        s.advance(to: at(days: 66))
        let t = try #require(s.triggers.first)
        #expect(t.offer?.bonusPoints == 0)
    }

    @Test func segmentsBy_n_andVIPCard() {
        var few = Scenario(only: ["reanimation"])
        few.purchase("o1", at: at(days: -1))
        few.purchase("o2", at: T0)
        few.purchase("o3", at: T0 + 1)
        few.advance(to: at(days: 80, ms: 1))
        #expect(few.fired == [Fired("reanimation.few", 1, at(days: 80, ms: 1))])

        var many = Scenario(only: ["reanimation"])
        for k in 0..<4 { many.purchase("o\(k)", at: at(days: Double(k))) }
        many.advance(to: at(days: 3 + 90))
        #expect(many.fired == [Fired("reanimation.many", 1, at(days: 93))])

        // A VIP card holder with one purchase is in "many" (90 days), not "one" (66 days).
        var vip = Scenario(only: ["reanimation"])
        vip.order("o1", .created, at: T0, vip: true)
        vip.order("o1", .completed, at: T0 + 1)
        vip.advance(to: at(days: 91))
        #expect(vip.fired == [Fired("reanimation.many", 1, at(days: 90, ms: 1))])
    }

    @Test func theSegmentIsEvaluatedWhenTheTouchIsDue() {
        // Touch 1 of "one" fires at 66 days; the card shown at day 70 moves the customer to
        // "many", whose touch 1 is due at day 90 from the same L: touch 2 of "one" does not fire.
        var s = Scenario(only: ["reanimation"])
        s.purchase("o1", at: T0)
        s.advance(to: at(days: 66))
        s.order("o2", .created, at: at(days: 70), vip: true)
        s.advance(to: at(days: 130))
        #expect(s.fired == [
            Fired("reanimation.one", 1, at(days: 66)), Fired("reanimation.many", 1, at(days: 90)),
            Fired("reanimation.many", 2, at(days: 104)), Fired("reanimation.many", 3, at(days: 118)),
        ])
    }

    @Test func aNewPurchaseCancelsTheRestOfTheChain() {
        var s = Scenario(only: ["reanimation"])
        s.purchase("o1", at: T0)
        s.advance(to: at(days: 70))
        s.purchase("o2", at: at(days: 75))
        s.advance(to: at(days: 75 + 79))
        #expect(s.fired == [Fired("reanimation.one", 1, at(days: 66))])
        s.advance(to: at(days: 75 + 80))
        #expect(s.fired.last == Fired("reanimation.few", 1, at(days: 155)))
    }
}

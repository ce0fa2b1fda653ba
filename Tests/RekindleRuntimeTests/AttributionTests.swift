import RekindleCore
@testable import RekindleRuntime
import RekindleTooling
import Testing

/// Multi-touch attribution in the back-test (seed 004, spec 7.4): which touches share a purchase,
/// in what shares, and that every purchase's credit adds up to one conversion and its revenue to
/// the cent under every model.
@Suite struct AttributionTests {
    static let t0: Millis = 1_767_225_600_000
    static let day = millisPerDay

    static func touch(_ rule: Int, _ customer: String, at t: Millis, windowDays: Int64 = 7, recommends: [String]? = nil) -> Touch {
        Touch(rule: Int32(rule), customerId: customer, firedAt: t, windowMs: windowDays * day, recommendations: recommends)
    }

    static func purchase(_ customer: String, _ order: String, at t: Millis, cents: Int64, products: [String] = []) -> PurchaseHistory.Purchase {
        PurchaseHistory.Purchase(customerId: customer, orderId: order, at: t, cents: cents, products: products)
    }

    @Test func uShapedGivesFortyTwentyFortyAllToASingleTouchAndHalvesToTwo() {
        #expect(AttributionModel.uShaped.weights(1) == [1])
        #expect(AttributionModel.uShaped.weights(2) == [0.5, 0.5])
        #expect(AttributionModel.uShaped.weights(3) == [0.4, 0.2, 0.4])
        #expect(AttributionModel.uShaped.weights(4) == [0.4, 0.1, 0.1, 0.4])
        #expect(AttributionModel.linear.weights(4) == [0.25, 0.25, 0.25, 0.25])
        #expect(AttributionModel.firstTouch.weights(3) == [1, 0, 0])
        #expect(AttributionModel.lastTouch.weights(3) == [0, 0, 1])
    }

    @Test func everyModelsSharesAddUpToOne() {
        for model in AttributionModel.allCases {
            for n in 1...40 {
                let sum = model.weights(n).reduce(0, +)
                #expect(abs(sum - 1) < 1e-12, "\(model.name) over \(n) touches sums to \(sum)")
            }
        }
    }

    @Test func revenueSplitsInWholeCentsThatAddUpExactlyAndStayWithinACentOfTheShare() {
        var rng = SplitMix64(seed: 13)
        for _ in 0..<2_000 {
            let cents = Int64.random(in: -1_000_000...100_000_000, using: &rng)
            let n = Int.random(in: 1...9, using: &rng)
            for model in AttributionModel.allCases {
                let weights = model.weights(n)
                let split = AttributionModel.split(cents, by: weights)
                #expect(split.reduce(0, +) == cents, "\(model.name): \(cents) over \(n) gives \(split)")
                for (w, s) in zip(weights, split) { #expect(abs(Double(s) - w * Double(cents)) < 1) }
            }
        }
        // Ties in the remainder go to the earlier touch: 10,001 cents in halves.
        #expect(AttributionModel.split(10_001, by: [0.5, 0.5]) == [5_001, 5_000])
        #expect(AttributionModel.split(100, by: AttributionModel.linear.weights(3)) == [34, 33, 33])
    }

    @Test func aPurchaseIsSharedByTheTouchesWhoseWindowsContainItInFiringOrder() {
        let t0 = Self.t0, day = Self.day
        let touches = [
            Self.touch(0, "c1", at: t0),  // window to t0 + 7 d: contains the purchase
            Self.touch(1, "c1", at: t0 + day, windowDays: 2),  // ends at t0 + 3 d: before it
            Self.touch(2, "c1", at: t0 + 2 * day),  // contains it
            Self.touch(3, "c1", at: t0 + 3 * day),  // contains it
            Self.touch(1, "c1", at: t0 + 4 * day),  // fired at the purchase's instant: not before it
            Self.touch(0, "c2", at: t0),  // another customer's
        ]
        let purchases = [
            Self.purchase("c1", "o1", at: t0 + 4 * day, cents: 10_001),
            // The same order completed again (after a return) converts no more (spec 3.8 item 9).
            Self.purchase("c1", "o1", at: t0 + 5 * day, cents: 10_001),
            // Past every window: no credit.
            Self.purchase("c1", "o2", at: t0 + 20 * day, cents: 500),
        ]
        let a = Attribution(TouchLog(touches), purchases: purchases, ruleCount: 4)
        #expect(a.purchases == 1 && a.cents == 10_001)
        func credit(_ m: AttributionModel) -> [Double] { a.rules.map { $0.conversions[m.rawValue] } }
        func cents(_ m: AttributionModel) -> [Int64] { a.rules.map { $0.cents[m.rawValue] } }
        #expect(credit(.lastTouch) == [0, 0, 0, 1])
        #expect(cents(.lastTouch) == [0, 0, 0, 10_001])
        #expect(credit(.firstTouch) == [1, 0, 0, 0])
        #expect(cents(.firstTouch) == [10_001, 0, 0, 0])
        let third: Double = 1.0 / 3
        #expect(credit(.linear) == [third, 0, third, third])
        #expect(cents(.linear) == [3_334, 0, 3_334, 3_333])
        #expect(credit(.uShaped) == [0.4, 0, 0.2, 0.4])
        #expect(cents(.uShaped) == [4_001, 0, 2_000, 4_000])
    }

    @Test func theBacktestsHitRateIsHitRateMeasuresOnTheHandCheckedStream() {
        // Measured both ways: the back-test's (from the purchase history and the touches) and
        // HitRate.measure's (from the events and the triggers), rule by rule.
        let (events, triggers) = HitRateTests.handChecked
        var history = PurchaseHistory()
        for e in events.sorted(by: { $0.occurredAt < $1.occurredAt }) { history.add(e) }
        let rules = ["view.abandoned", "frequency.rise"]
        let touches = triggers.map { Touch($0, rule: rules.firstIndex(of: $0.ruleId)!) }
        let a = Attribution(TouchLog(touches), purchases: history.purchases, ruleCount: rules.count)
        for (k, rule) in rules.enumerated() {
            let want = HitRate.measure(events: events, triggers: triggers, ruleId: rule)
            #expect(a.rules[k].recommending == want.recommending && a.rules[k].hits == want.hits, "\(rule)")
        }
        #expect(a.rules[0].hits == 2 && a.rules[1].hits == 1)
    }
}

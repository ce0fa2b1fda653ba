import RekindleCore
import Testing

/// Spec 3.9's `churn.risk` and the odds in the customer block: the instant it fires (the start of
/// the first UTC day after `L`'s on which churn_risk reaches the threshold), re-arming by a
/// purchase, the ledger (spec 3.8 items 3 and 4), nothing without a model, the fields as of
/// `fired_at`, snapshots, and the rule file's errors.
@Suite struct ChurnRiskFamilyTests {
    /// The paper's CDNOW estimates (table 1).
    static let model = ChurnModel(r: 0.2426, alpha: 4.414, a: 0.7929, b: 2.426)
    static let modelJSON = #""model": {"r": 0.2426, "alpha": 4.414, "a": 0.7929, "b": 2.426}"#
    static let h = 90.0 / 7
    static let n = JSONWriter.number

    static func churn(_ more: String = "", also: [String] = []) -> Scenario {
        Scenario(only: ["churn"] + also, overlay: #""churn": {\#(modelJSON)\#(more)}"#)
    }

    /// Independently of the family: the first day after the last purchase day whose start has
    /// churn_risk >= threshold, walked one day at a time from the purchases' UTC days.
    static func expectedDue(_ purchases: [Millis], threshold: Double = 0.66, model: ChurnModel = model) -> Millis {
        let days = Set(purchases.map { ChurnSummary.day($0) })
        let first = days.min()!, last = days.max()!
        var d = last + 1
        while model.score(ChurnSummary(x: days.count - 1, lastDay: last - first, nowDay: d - first), horizonWeeks: h).churnRisk
            < threshold
        {
            d += 1
        }
        return d * day
    }

    /// The odds the block must carry at `t`, from the purchases' days.
    static func score(_ purchases: [Millis], at t: Millis) -> ChurnModel.Score {
        let days = Set(purchases.filter { $0 <= t }.map { ChurnSummary.day($0) })
        let first = days.min()!
        return model.score(
            ChurnSummary(x: days.count - 1, lastDay: days.max()! - first, nowDay: ChurnSummary.day(t) - first), horizonWeeks: h)
    }

    @Test func aRepeatBuyerIsTouchedAtTheStartOfTheFirstDayAtRiskAndNotOneMillisecondBefore() throws {
        var s = Self.churn()
        let purchases = [at(hours: 10), at(days: 20, hours: 15)]
        s.purchase("o1", at: purchases[0])
        s.purchase("o2", at: purchases[1])
        let due = Self.expectedDue(purchases)
        #expect(due > at(days: 22), "a recent repeat purchase keeps the risk under 0.66 for a while")
        // As a one-time buyer (L = o1) the customer was at risk from day 1 on.
        let once = [Fired("churn.risk", 1, at(days: 1))]
        s.advance(to: due - 1)
        #expect(s.fired == once, "not 1 ms before the day starts")
        s.advance(to: due)
        #expect(s.fired == once + [Fired("churn.risk", 1, due)])
        s.advance(to: at(days: 2000))
        #expect(s.fired.count == 2, "once per L")

        let t = try #require(s.triggers.last)
        #expect(t.channel == "email")
        #expect(t.conversionWindowDays == 14)
        #expect(t.offer == nil && t.products == nil && t.recommendations == nil)
        #expect(t.triggerId == Trigger.id(ruleId: "churn.risk", customerId: "c1", firedAt: due, touch: 1))
        // The block's odds as of fired_at, computed here from the purchases' days.
        let expected = Self.score(purchases, at: due)
        #expect(t.customer.pAlive == expected.pAlive)
        #expect(t.customer.churnRisk == expected.churnRisk)
        #expect(t.customer.expectedPurchases == expected.expectedPurchases)
        #expect(expected.churnRisk >= 0.66)
        #expect(Self.score(purchases, at: due - day).churnRisk < 0.66, "the day before was not at risk")
        let json = String(decoding: t.json, as: UTF8.self)
        let n = Self.n
        #expect(json.contains(
            #","p_alive":\#(n(expected.pAlive)),"churn_risk":\#(n(expected.churnRisk)),"expected_purchases":\#(n(expected.expectedPurchases))},"#),
            "\(json)")
    }

    /// The spec doubt: a one-time buyer is over 0.66 already on the day of the purchase, whose
    /// start is before `L`; the touch comes at the start of the next day.
    @Test func aOneTimeBuyerAlreadyAtRiskIsTouchedAtTheNextDaysStart() throws {
        #expect(Self.score([at(hours: 10)], at: at(hours: 10)).churnRisk >= 0.66)
        var s = Self.churn()
        s.purchase("o1", at: at(hours: 10))
        #expect(s.triggers.isEmpty, "nothing at the purchase itself")
        s.advance(to: at(days: 1, ms: -1))
        #expect(s.triggers.isEmpty)
        s.advance(to: at(days: 1))
        #expect(s.fired == [Fired("churn.risk", 1, at(days: 1))])
        #expect(Self.expectedDue([at(hours: 10)]) == at(days: 1))
        // x = 0: p_alive is exactly 1 and is written as such.
        let json = String(decoding: try #require(s.triggers.first).json, as: UTF8.self)
        let e = Self.score([at(hours: 10)], at: at(days: 1))
        #expect(e.pAlive == 1)
        #expect(json.contains(#""p_alive":1.0,"churn_risk":\#(Self.n(e.churnRisk)),"#), "\(json)")
    }

    @Test func aPurchaseReArmsTheTouchForTheNewLAndCancelsTheOldOne() throws {
        var s = Self.churn()
        s.purchase("o1", at: at(hours: 10))
        s.advance(to: at(days: 1))
        #expect(s.fired == [Fired("churn.risk", 1, at(days: 1))])
        // A second purchase: a new L, a new touch.
        s.purchase("o2", at: at(days: 30, hours: 9))
        let due2 = Self.expectedDue([at(hours: 10), at(days: 30, hours: 9)])
        // A third before that touch is due moves it again; the one for o2's L never fires.
        let p3 = due2 - 2 * hour
        s.purchase("o3", at: p3)
        let due3 = Self.expectedDue([at(hours: 10), at(days: 30, hours: 9), p3])
        #expect(due3 > due2)
        s.advance(to: due3 - 1)
        #expect(s.fired == [Fired("churn.risk", 1, at(days: 1))])
        s.advance(to: due3)
        #expect(s.fired == [Fired("churn.risk", 1, at(days: 1)), Fired("churn.risk", 1, due3)])
    }

    @Test func aRemovalBringsBackTheEarlierLsTouchIfItIsAheadAndNeverOneThatFired() throws {
        // o1 at day 0 fired at day 1; o2 at day 40 is returned: L is day 0 again, its touch fired.
        var s = Self.churn()
        s.purchase("o1", at: at(hours: 10))
        s.advance(to: at(days: 1))
        s.purchase("o2", at: at(days: 40))
        s.order("o2", .returned, at: at(days: 40, hours: 1))
        s.advance(to: at(days: 3000))
        #expect(s.fired == [Fired("churn.risk", 1, at(days: 1))])

        // o1 and o2 give a touch ahead; o3 moves L, then is cancelled: o2's touch is armed again.
        var r = Self.churn()
        let kept = [at(hours: 10), at(days: 20, hours: 15)]
        r.purchase("o1", at: kept[0])
        r.purchase("o2", at: kept[1])
        let due = Self.expectedDue(kept)
        try #require(due > at(days: 23))
        r.purchase("o3", at: at(days: 22))
        r.order("o3", .cancelled, at: at(days: 23))
        r.advance(to: at(days: 3000))
        #expect(r.fired == [Fired("churn.risk", 1, at(days: 1)), Fired("churn.risk", 1, due)])
    }

    @Test func withoutAModelNothingFiresAndNoOutputCarriesTheOdds() throws {
        #expect(!RuleSet.defaults.rules.contains { $0.id == "churn.risk" })
        #expect(rulesOnly(["churn"]).rules.isEmpty)
        var s = Scenario(only: ["churn", "rf"])
        s.purchase("o1", at: at(hours: 10))
        s.advance(to: at(days: 3000))
        #expect(s.fired("churn.risk").isEmpty)
        let t = try #require(s.triggers.first)
        #expect(t.customer.pAlive == nil && t.customer.churnRisk == nil && t.customer.expectedPurchases == nil)
        #expect(!String(decoding: t.json, as: UTF8.self).contains("p_alive"))
        #expect(!String(decoding: s.task.describe(customer: "c1")!, as: UTF8.self).contains("p_alive"))

        // A model with the family disabled: the odds are in the block, the rule does not fire.
        var d = Scenario(only: ["rf", "churn"], overlay: #""churn": {"enabled": false, \#(Self.modelJSON)}"#)
        d.purchase("o1", at: at(hours: 10))
        d.advance(to: at(days: 3000))
        #expect(d.fired("churn.risk").isEmpty)
        #expect(d.triggers.first?.customer.pAlive == 1)
    }

    @Test func everyTriggersBlockAndTheCustomerViewCarryTheOddsAsOfTheirInstant() throws {
        var s = Self.churn(also: ["rf", "stage"])
        s.view("p1", at: at(hours: 1), customer: "browser")
        let purchases = [at(hours: 10), at(days: 4, hours: 2)]
        s.purchase("o1", at: purchases[0])
        s.purchase("o2", at: purchases[1])
        s.advance(to: at(days: 20))
        // rf.new does not apply (n = 2); rf.promising is due at L + 25 days.
        s.advance(to: at(days: 29, hours: 2))
        let rf = try #require(s.triggers("rf.promising").first)
        #expect(rf.firedAt == at(days: 29, hours: 2))
        let e = Self.score(purchases, at: rf.firedAt)
        #expect(rf.customer.pAlive == e.pAlive)
        #expect(rf.customer.churnRisk == e.churnRisk)
        #expect(rf.customer.expectedPurchases == e.expectedPurchases)
        // A customer without a purchase has no odds.
        let prospect = try #require(s.triggers("stage.prospect").first { $0.customerId == "browser" })
        #expect(prospect.customer.pAlive == nil)
        #expect(!String(decoding: prospect.json, as: UTF8.self).contains("p_alive"))

        // The view: the odds at the watermark, and the touch ahead with its due time.
        var v = Self.churn()
        v.purchase("o1", at: purchases[0])
        v.purchase("o2", at: purchases[1])
        v.open(at: at(days: 6, hours: 5), customer: "other")
        let view = String(decoding: try #require(v.task.describe(customer: "c1")), as: UTF8.self)
        let now = Self.score(purchases, at: at(days: 6, hours: 5))
        #expect(view.contains(#""p_alive":\#(Self.n(now.pAlive)),"churn_risk":\#(Self.n(now.churnRisk)),"#), "\(view)")
        let due = Self.expectedDue(purchases)
        #expect(view.contains(#"{"rule_id":"churn.risk","touch":1,"due_at":"\#(Timestamp.format(due))"}"#), "\(view)")
    }

    @Test func theThresholdIsARuleParameterAndTheHorizonAFamilyOne() throws {
        var s = Self.churn(#", "horizon_days": 30, "rules": {"churn.risk": {"threshold": 0.9}, "churn.late": {"like": "churn.risk", "threshold": 0.95, "channel": "sms"}}"#)
        let purchases = [at(hours: 10), at(days: 20, hours: 15)]
        s.purchase("o1", at: purchases[0])
        s.purchase("o2", at: purchases[1])
        s.advance(to: at(days: 5000))
        let m = Self.model
        func due(_ threshold: Double) -> Millis {
            var d: Int64 = 21
            while m.churnRisk(ChurnSummary(x: 1, lastDay: 20, nowDay: d), horizonWeeks: 30.0 / 7) < threshold { d += 1 }
            return T0 + d * day
        }
        #expect(s.fired == [Fired("churn.risk", 1, due(0.9)), Fired("churn.late", 1, due(0.95))])
        #expect(s.triggers("churn.late").first?.channel == "sms")
        let t = try #require(s.triggers("churn.risk").first)
        #expect(t.customer.churnRisk == m.churnRisk(ChurnSummary(x: 1, lastDay: 20, nowDay: (t.firedAt - T0) / day), horizonWeeks: 30.0 / 7))
    }

    /// A snapshot taken anywhere continues byte for byte as the uninterrupted task; one taken
    /// under other churn parameters, or without a model, recomputes the due days from the purchases.
    @Test func aSnapshotContinuesByteIdentically() throws {
        let rules = Self.churn(also: ["rf", "engagement"]).task.rules
        var timed: [(at: Millis, apply: (inout Scenario) -> Void)] = []
        for k in 0..<40 {
            let c = "c\(k)"
            let start = at(days: Double(k % 7), hours: Double(k % 13))
            // Event ids of their own: a scenario numbers its events from 1, the resumed one too.
            timed.append((start, { $0.order("a\(k)", .completed, at: start, customer: c, eventId: "a\(k)") }))
            let second = start + Millis(k + 5) * day, back = start + Millis(k + 6) * day
            if k % 3 == 0 { timed.append((second, { $0.order("b\(k)", .completed, at: second, customer: c, eventId: "b\(k)") })) }
            if k % 5 == 0 { timed.append((back, { $0.order("b\(k)", .returned, at: back, customer: c, eventId: "r\(k)") })) }
        }
        // In time order, as a task takes them.
        timed.sort { $0.at < $1.at }
        let events = timed.map(\.apply)
        for cut in [1, events.count / 2, events.count - 1] {
            var whole = Scenario(rules)
            for e in events { e(&whole) }
            whole.advance(to: at(days: 400))

            var first = Scenario(rules)
            for e in events.prefix(cut) { e(&first) }
            var resumed = Scenario(rules)
            resumed.task = try CampaignTask(restoring: first.task.encodeState(), rules: rules)
            resumed.outputs = first.outputs
            for e in events.dropFirst(cut) { e(&resumed) }
            resumed.advance(to: at(days: 400))
            #expect(resumed.outputs.map(\.bytes) == whole.outputs.map(\.bytes), "cut at \(cut)")
            #expect(resumed.task.encodeState() == whole.task.encodeState(), "cut \(cut)")
            #expect(!whole.triggers("churn.risk").isEmpty)

            // Taken without a model (or with another threshold): the due days come from the purchases.
            for other in [Scenario(only: ["rf", "engagement"]).task.rules, Self.churn(#", "rules": {"churn.risk": {"threshold": 0.9}}"#).task.rules] {
                var before = Scenario(other)
                for e in events.prefix(cut) { e(&before) }
                var after = Scenario(rules)
                after.task = try CampaignTask(restoring: before.task.encodeState(), rules: rules)
                var fresh = Scenario(rules)
                for e in events.prefix(cut) { e(&fresh) }
                for k in 0..<40 {
                    #expect(after.task.describe(customer: "c\(k)") == fresh.task.describe(customer: "c\(k)"), "c\(k) cut \(cut)")
                }
            }
        }
    }

    @Test func ruleFileErrorsNameThePath() {
        func error(_ churn: String) -> String? {
            let text = #"{"version": "1", "families": {"churn": {\#(churn)}}}"#
            do { _ = try RuleSet(overlay: JSONParser.parse(text)) } catch let e as RuleError { return e.message } catch { return "\(error)" }
            return nil
        }
        #expect(error(Self.modelJSON) == nil)
        #expect(error(#""model": {"r": 0, "alpha": 4.414, "a": 0.7929, "b": 2.426}"#)
            == "families.churn.model.r: expected a number > 0 and <= 1000000000000, got number 0")
        #expect(error(#""model": {"r": 0.24, "alpha": -1, "a": 0.7929, "b": 2.426}"#)
            == "families.churn.model.alpha: expected a number > 0 and <= 1000000000000, got number -1")
        #expect(error(#""model": {"r": 0.24, "alpha": 4.4, "a": 0.79}"#) == "families.churn.model: missing b")
        #expect(error(#""model": {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": "two"}"#)
            == #"families.churn.model.b: expected a number > 0 and <= 1000000000000, got string "two""#)
        #expect(error(#""model": {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4, "beta": 1}"#)
            == "families.churn.model.beta: unknown parameter")
        #expect(error(#""model": {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4, "fitted_until": "soon"}"#)
            == #"families.churn.model.fitted_until: expected an RFC 3339 time, got string "soon""#)
        #expect(error(#""model": {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4, "customers": 1.5}"#)
            == "families.churn.model.customers: expected a whole number from 0 to 1000000000000, got number 1.5")
        #expect(error(#""model": {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4, "log_likelihood": "high"}"#)
            == #"families.churn.model.log_likelihood: expected a number from -100000000000000 to 100000000000000, got string "high""#)
        #expect(error(#""model": [1, 2]"#) == "families.churn.model: expected a mapping, got an array")
        #expect(error(#""horizon_days": 0"#) == "families.churn.horizon_days: expected a number > 0 and <= 36500, got number 0")
        #expect(error(#""rules": {"churn.risk": {"threshold": 1.5}}"#)
            == "families.churn.rules.churn.risk.threshold: expected a number > 0 and <= 1, got number 1.5")
        #expect(error(#""rules": {"churn.risk": {"threshold": 0}}"#)
            == "families.churn.rules.churn.risk.threshold: expected a number > 0 and <= 1, got number 0")
        #expect(error(#""rules": {"churn.risk": {"threshold": 1}}"#) == nil)
    }
}

extension Output {
    var bytes: [UInt8] {
        switch self {
        case .trigger(let t), .withheld(let t): return t.json
        case .conversion(let c): return c.json
        }
    }
}

import RekindleCore
import Testing

@Suite struct RuleSetTests {
    func load(_ text: String) throws(RuleError) -> RuleSet {
        let tree: JSONValue
        do { tree = try JSONParser.parse(text) } catch { throw RuleError("test: \(error)") }
        return try RuleSet(overlay: tree)
    }

    func error(_ text: String) -> String? {
        do { _ = try load(text) } catch { return error.message }
        return nil
    }

    @Test func theDefaultsHoldEveryRuleOfSection3InRuleIdOrder() {
        let ids = RuleSet.defaults.rules.map(\.id)
        #expect(ids == [
            "engagement.cooled", "engagement.rewarmed", "frequency.fall", "frequency.rise", "reanimation.few",
            "reanimation.many", "reanimation.one", "rf.at_risk", "rf.dormant", "rf.lost", "rf.loyal", "rf.new",
            "rf.promising", "rf.wandering", "stage.at_risk", "stage.lapsed", "stage.prospect", "stage.replenish",
            "view.abandoned", "vip.entered",
        ])
        #expect(RuleSet.defaults.shop.meanIntervalFallbackMs == 65 * day)
        #expect(RuleSet.defaults.effective["families"]?["engagement"]?["cold_after_days"] == .number(30))
        #expect(RuleSet.defaults.hash.count == 16)
    }

    @Test func aUserFileChangesAParameterAndTheVersionHashFollows() throws {
        let r = try load(#"{"version": "v2", "families": {"rf": {"rules": {"rf.new": {"days": 12, "channel": "push"}}}}}"#)
        let rule = try #require(r.rules.first { $0.id == "rf.new" })
        let rf = try #require(r.parameters(of: "rf.new", as: RFRule.self))
        #expect(rf.delayMs == 12 * day)
        #expect(rf.secondTouchMs == 6 * day)
        #expect(rule.channel == "push")
        #expect(r.version == "v2")
        #expect(r.hash != RuleSet.defaults.hash)
        // The same effective rules give the same hash, whatever the file's own version says.
        let same = try load(#"{"version": "v2", "families": {"rf": {"rules": {"rf.new": {"channel": "push", "days": 12}}}}}"#)
        #expect(same.hash == r.hash)
    }

    @Test func aFamilyOrARuleCanBeDisabled() throws {
        let r = try load(#"{"version": 3, "families": {"rf": {"enabled": false}, "vip": {"rules": {"vip.entered": {"enabled": false}}}}}"#)
        #expect(!r.rules.contains { $0.id.hasPrefix("rf.") || $0.id == "vip.entered" })
        #expect(r.rules.count == 12)
        #expect(r.version == "3")
    }

    @Test func aNewRuleOfAnExistingShapeIsAddedByIdOrLikeAnother() throws {
        let r = try load(#"""
            {"version": "x", "families": {
              "views": {"rules": {"view.abandoned_day": {"like": "view.abandoned", "delay_minutes": 1440}}},
              "stage": {"rules": {"stage.overdue": {"kind": "rhythm", "factor": 3, "min_purchases": 2}}}}}
            """#)
        let day = try #require(r.rules.first { $0.id == "view.abandoned_day" })
        #expect(r.parameters(of: day.id) == AbandonedViewRule.testValue(delayMinutes: 1440))
        #expect(day.family == "views")
        #expect(r.rules.contains { $0.id == "stage.overdue" })
        var s = Scenario(r)
        s.purchase("o1", at: T0)
        s.purchase("o2", at: at(days: 10))
        s.advance(to: at(days: 40))
        #expect(s.fired("stage.overdue") == [Fired("stage.overdue", 1, at(days: 40))])
    }

    @Test func mistakesAreNamedWithTheirPath() {
        #expect(error(#"{"families": {}}"#) == "version: missing (a rule file must name its version)")
        #expect(error(#"{"version": "1", "families": {"rf": {"rules": {"rf.new": {"dayz": 3}}}}}"#)
            == "families.rf.rules.rf.new.dayz: unknown parameter")
        #expect(error(#"{"version": "1", "families": {"rf": {"rules": {"rf.new": {"days": "ten"}}}}}"#)
            == #"families.rf.rules.rf.new.days: expected a number from 0 to 36500, got string "ten""#)
        #expect(error(#"{"version": "1", "families": {"loyalty": {}}}"#)
            == "families.loyalty: unknown family (expected one of rf, reanimation, stage, engagement, vip, views, frequency, churn)")
        #expect(error(#"{"version": "1", "families": {"rf": {"rules": {"rf.x": {"days": 3}}}}}"#)
            == "families.rf.rules.rf.x: missing stage")
        #expect(error(#"{"version": "1", "families": {"rf": {"rules": {"rf|x": {"like": "rf.new"}}}}}"#)
            == "families.rf.rules.rf|x: a rule id is letters, digits, '.', '_' or '-'")
        #expect(error(#"{"version": "1", "families": {"stage": {"rules": {"stage.x": {"kind": "weekly"}}}}}"#)
            == #"families.stage.rules.stage.x.kind: expected one of rhythm, prospect, got "weekly""#)
        #expect(error(#"{"version": "1", "shop": {"mean_interval_days": -1}}"#)
            == "shop.mean_interval_days: expected a number from 0 to 36500, got number -1")
        #expect(error(#"{"version": "1", "extra": 1}"#) == "extra: unknown top-level key (expected version, shop, families, experiments, policy)")
    }

    @Test func theCanonicalFormSortsKeysAndWritesWholeNumbersAsIntegers() throws {
        let v = try JSONParser.parse(#"{"b": 2.0, "a": [1.5, {"d": null, "c": true}]}"#)
        #expect(RuleSet.canonicalJSON(v) == #"{"a":[1.5,{"c":true,"d":null}],"b":2}"#)
    }
}

extension AbandonedViewRule {
    static func testValue(delayMinutes: Int) -> AbandonedViewRule {
        guard var a = RuleSet.defaults.parameters(of: "view.abandoned", as: AbandonedViewRule.self) else { fatalError() }
        a.delayMs = Millis(delayMinutes) * minute
        return a
    }
}

import RekindleCore
import Testing

/// Spec 7.1 (withheld touches) and 7.2 (holdout and global control groups, lift).
@Suite struct ExperimentsTests {
    static let rule = "view.abandoned"

    /// Only the views family, under an `experiments` section.
    static func rules(_ experiments: String) -> RuleSet {
        let text = """
            {"version": "test", "experiments": \(experiments), "families": {
              "rf": {"enabled": false}, "reanimation": {"enabled": false}, "stage": {"enabled": false},
              "engagement": {"enabled": false}, "vip": {"enabled": false}, "frequency": {"enabled": false},
              "churn": {"enabled": false}}}
            """
        do { return try RuleSet(overlay: JSONParser.parse(text)) } catch { fatalError("test rules: \(error)") }
    }

    static func error(_ experiments: String) -> String? {
        let text = #"{"version": "test", "experiments": \#(experiments)}"#
        do {
            _ = try RuleSet(overlay: JSONParser.parse(text))
            return nil
        } catch let e as RuleError {
            return e.message
        } catch {
            return "\(error)"
        }
    }

    var withheld: (Scenario) -> [Trigger] = { s in
        s.outputs.compactMap { if case .withheld(let t) = $0 { return t } else { return nil } }
    }

    /// Views by three customers, a purchase by each inside and after the window, over 40 days,
    /// applied in time order.
    static func history(_ s: inout Scenario) {
        var steps: [(Millis, String, Bool, Int)] = []
        for (k, c) in ["c1", "c2", "c8"].enumerated() {
            steps.append((at(days: Double(k), hours: 1), c, false, k))
            steps.append((at(days: Double(k) + 2), c, true, 0))
            steps.append((at(days: Double(k) + 20), c, false, k))
            steps.append((at(days: Double(k) + 35), c, true, 1))
        }
        for (t, c, buys, k) in steps.sorted(by: { $0.0 < $1.0 }) {
            if buys {
                s.purchase("o\(c)\(k)", at: t, customer: c, total: k == 0 ? 10.25 : 5)
            } else {
                s.view("p\(k)", at: t, customer: c)
            }
        }
        s.advance(to: at(days: 40))
    }

    // MARK: - The draw

    @Test func theDrawIsSHA256OfTheSpecStringOverTwoToThe64() {
        // Python: int.from_bytes(hashlib.sha256(f"holdout|{name}|{scope}|{id}".encode()).digest()[:8], "big") / 2**64
        #expect(Experiments.draw(experiment: "spring", scope: "view.abandoned", customerId: "c1") == 0.9399893155698833)
        #expect(Experiments.draw(experiment: "spring", scope: "global", customerId: "c1") == 0.021625727250477015)
        #expect(Experiments.draw(experiment: "autumn", scope: "view.abandoned", customerId: "c3") == 0.039488839678199994)
        #expect(Experiments.draw(experiment: "spring", scope: "view.abandoned", customerId: "c8") == 0.18334936609378472)
    }

    @Test func aCustomerIsHeldOutIffTheDrawIsBelowTheShareAndANewNameDrawsAgain() throws {
        let spring = try #require(Self.rules(#"{"name": "spring", "holdout": 0.5}"#).experiments)
        let k = try #require(Self.rules(#"{"name": "spring"}"#).rules.firstIndex { $0.id == Self.rule })
        #expect(spring.heldOut(rule: k, ruleId: Self.rule, "c8"), "0.183 < 0.5")
        #expect(spring.heldOut(rule: k, ruleId: Self.rule, "c2"), "0.378 < 0.5")
        #expect(!spring.heldOut(rule: k, ruleId: Self.rule, "c1"), "0.940 >= 0.5")
        let autumn = try #require(Self.rules(#"{"name": "autumn", "holdout": 0.5}"#).experiments)
        #expect(autumn.heldOut(rule: k, ruleId: Self.rule, "c1"), "autumn draws 0.246 for c1")
        let edge = try #require(Self.rules(#"{"name": "spring", "holdout": 0.18334936609378472}"#).experiments)
        #expect(!edge.heldOut(rule: k, ruleId: Self.rule, "c8"), "u equal to the share is not below it")
    }

    // MARK: - Withheld touches

    @Test func aHeldOutTouchIsDecidedExactlyAsIfSentAndGoesToTheWithheldOutput() {
        var sent = Scenario(Self.rules(#"{"name": "spring", "holdout": 0}"#))
        var held = Scenario(Self.rules(#"{"name": "spring", "holdout": 1}"#))
        Self.history(&sent)
        Self.history(&held)
        let heldTouches = withheld(held)
        #expect(held.triggers.isEmpty, "every touch of a fully held-out rule is withheld")
        #expect(heldTouches.map { Fired($0.ruleId, $0.touch, $0.firedAt) } == sent.fired,
            "the same touches at the same instants: the rule's state counted them as fired")
        #expect(heldTouches.allSatisfy { $0.withheld == .holdout })
        #expect(heldTouches.map(\.triggerId) == sent.triggers.map(\.triggerId))
        #expect(!sent.conversions.isEmpty && held.conversions.isEmpty, "a withheld touch never receives a conversion")
        #expect(held.task.stats.withheld == heldTouches.count && held.task.stats.triggers == 0)
        let json = String(decoding: heldTouches[0].json, as: UTF8.self)
        #expect(json.hasSuffix(#","withheld":{"reason":"holdout"}}"#))
    }

    @Test func theGlobalControlGroupIsCheckedFirst() {
        // c1 draws 0.0216 for `global`: in a 5% global control group; c2 (0.0221) too, c8 (0.656) not.
        var s = Scenario(Self.rules(#"{"name": "spring", "global_control": 0.022, "holdout": 1}"#))
        Self.history(&s)
        let reasons = Dictionary(grouping: withheld(s), by: \.customerId).mapValues { Set($0.map(\.withheld)) }
        #expect(reasons["c1"] == [.globalControl])
        #expect(reasons["c2"] == [.holdout], "0.0221 is not below 0.022")
        #expect(reasons["c8"] == [.holdout])
    }

    @Test func withAllSharesZeroEveryTouchIsSentAsWithoutTheSection() {
        var with = Scenario(Self.rules(#"{"name": "spring"}"#))
        var without = Scenario(rulesOnly(["views"]))
        Self.history(&with)
        Self.history(&without)
        #expect(with.fired == without.fired)
        #expect(with.conversions.map(\.orderId) == without.conversions.map(\.orderId))
        #expect(withheld(with).isEmpty)
        #expect(with.task.rules.hash != without.task.rules.hash, "the experiment is part of the rules' version")
    }

    // MARK: - Lift

    @Test func liftCountsEachCustomersFirstTouchAndThePurchasesInItsWindow() throws {
        // holdout 0.5: c1 draws 0.940 (treated), c2 0.378 and c8 0.183 (control).
        var s = Scenario(Self.rules(#"{"name": "spring", "holdout": 0.5}"#))
        Self.history(&s)
        let k = try #require(s.task.rules.rules.firstIndex { $0.id == Self.rule })
        let lift = s.task.lift[k]
        // Each customer's first touch is an hour after the first view; the purchase two days
        // later is in its 7-day window, the one 35 days later is not (in no first touch's window).
        #expect(lift.treated == LiftCounts.Arm(customers: 1, converted: 1, revenueCents: 1025))
        #expect(lift.control == LiftCounts.Arm(customers: 2, converted: 2, revenueCents: 2050))
        #expect(s.conversions.map(\.customerId) == ["c1"], "last-touch conversions only for sent touches")
    }

    @Test func aRestoredTaskContinuesTheExperimentExactly() throws {
        let rules = Self.rules(#"{"name": "spring", "holdout": 0.5, "global_control": 0.022}"#)
        var half = Scenario(rules)
        half.view("p0", at: at(hours: 1), customer: "c1")
        half.view("p2", at: at(days: 2, hours: 1), customer: "c8")
        half.advance(to: at(days: 3))
        var resumed = Scenario(rules)
        resumed.task = try CampaignTask(restoring: half.task.encodeState(), rules: rules)
        #expect(resumed.task.lift == half.task.lift)
        #expect(resumed.task.encodeState() == half.task.encodeState())
        resumed.purchase("late", at: at(days: 4), customer: "c8", total: 1)
        half.purchase("late", at: at(days: 4), customer: "c8", total: 1)
        #expect(resumed.task.lift == half.task.lift)
        #expect(resumed.task.describe(customer: "c8") == half.task.describe(customer: "c8"))
    }

    @Test func anotherExperimentNameRestartsTheCountsAndSaysSo() throws {
        var s = Scenario(Self.rules(#"{"name": "spring", "holdout": 0.5}"#))
        Self.history(&s)
        let autumn = Self.rules(#"{"name": "autumn", "holdout": 0.5}"#)
        let restored = try CampaignTask(restoring: s.task.encodeState(), rules: autumn)
        #expect(restored.lift.allSatisfy { $0 == LiftCounts() })
        #expect(restored.restoreNotes.contains { $0.contains("another experiment") })
        let none = try CampaignTask(restoring: s.task.encodeState(), rules: rulesOnly(["views"]))
        #expect(none.lift.isEmpty)
        #expect(none.stats.withheld == s.task.stats.withheld)
    }

    @Test func theCustomerViewShowsTheGroups() throws {
        var s = Scenario(Self.rules(#"{"name": "spring", "holdout": 0.5, "global_control": 0.022}"#))
        Self.history(&s)
        let c1 = String(decoding: try #require(s.task.describe(customer: "c1")), as: UTF8.self)
        #expect(c1.contains(#""experiments":{"name":"spring","global_control":true,"holdouts":[]"#))
        let c8 = String(decoding: try #require(s.task.describe(customer: "c8")), as: UTF8.self)
        #expect(c8.contains(#""global_control":false,"holdouts":["view.abandoned"]"#))
        #expect(c8.contains(#""first_touches":[{"rule_id":"view.abandoned","group":"control","fired_at":"2026-01-03T02:00:00.000Z","converted":true}]"#))
    }

    // MARK: - The rule file

    @Test func badSharesAreRuleFileErrorsWithTheirPath() {
        #expect(Self.error(#"{"name": "x", "holdout": -0.1}"#) == "experiments.holdout: expected a number from 0 to 1, got number -0.1")
        #expect(Self.error(#"{"name": "x", "global_control": 1.5}"#) == "experiments.global_control: expected a number from 0 to 1, got number 1.5")
        #expect(Self.error(#"{"name": "x", "rules": {"rf.new": {"holdout": "half"}}}"#)
            == #"experiments.rules.rf.new.holdout: expected a number from 0 to 1, got string "half""#)
        #expect(Self.error(#"{"name": "x", "rules": {"rf.nwe": {"holdout": 0.1}}}"#) == "experiments.rules.rf.nwe: no rule has this id")
        #expect(Self.error(#"{"holdout": 0.1}"#) == "experiments: missing name")
        #expect(Self.error(#"{"name": "x", "holdot": 0.1}"#) == "experiments.holdot: unknown parameter")
        #expect(Self.error(#"{"name": "x", "rules": {"rf.new": {"holdout": 0.1, "share": 1}}}"#)
            == "experiments.rules.rf.new.share: unknown parameter")
        #expect(Self.error(#"{"name": "x", "holdout": 0.2, "rules": {"rf.new": {"holdout": 0}}}"#) == nil)
    }

    @Test func aRuleNamesItsOwnHoldoutOverTheSectionsShare() throws {
        let rules = Self.rules(#"{"name": "x", "holdout": 0.2, "rules": {"view.abandoned": {"holdout": 0.7}}}"#)
        let e = try #require(rules.experiments)
        #expect(zip(rules.rules, e.holdout).allSatisfy { $0.id == Self.rule ? $1 == 0.7 : $1 == 0.2 })
    }

    // MARK: - The statistics

    @Test func newcombesHybridScoreIntervalsMatchHisPublishedTable() {
        // Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10 (to 4 decimals).
        let published: [((Int, Int, Int, Int), (Double, Double))] = [
            ((56, 70, 48, 80), (0.0524, 0.3339)),
            ((9, 10, 3, 10), (0.1705, 0.8090)),
            ((6, 7, 2, 7), (0.0582, 0.8062)),
            ((5, 56, 0, 29), (-0.0381, 0.1926)),
            ((0, 10, 0, 20), (-0.1611, 0.2775)),
            ((0, 10, 0, 10), (-0.2775, 0.2775)),
            ((10, 10, 0, 20), (0.6791, 1.0000)),
            ((10, 10, 0, 10), (0.6075, 1.0000)),
        ]
        for ((x1, n1, x2, n2), (lower, upper)) in published {
            let i = LiftEstimate.newcombe(x1, n1, x2, n2)
            #expect(abs(i.lower - lower) < 0.00005 && abs(i.upper - upper) < 0.00005, "\(x1)/\(n1) - \(x2)/\(n2): \(i)")
        }
    }

    @Test func thePooledZTestGivesTheTextbookPValue() throws {
        // z = (0.8 - 0.6) / sqrt(0.6933 x 0.3067 x (1/70 + 1/80)) = 2.6502; two-sided p from
        // scipy.stats.norm.sf: 2 x sf(2.6501719512585336).
        #expect(abs(try #require(LiftEstimate.pooledZTest(56, 70, 48, 80)) - 0.00804508136819656) < 1e-12)
        #expect(abs(try #require(LiftEstimate.pooledZTest(120, 1000, 100, 1000)) - 0.1529177818639462) < 1e-12)
        #expect(LiftEstimate.pooledZTest(0, 50, 0, 50) == nil, "nobody converted: no variance")
    }

    @Test func tooFewControlCustomersGiveANoteInsteadOfAnInterval() throws {
        let few = try #require(LiftEstimate(LiftCounts(
            treated: .init(customers: 500, converted: 60, revenueCents: 600_000), control: .init(customers: 29, converted: 2))))
        #expect(few.interval == nil && few.pValue == nil)
        #expect(few.note?.contains("29 control") == true)
        let enough = try #require(LiftEstimate(LiftCounts(
            treated: .init(customers: 70, converted: 56, revenueCents: 7000), control: .init(customers: 80, converted: 48, revenueCents: 4000))))
        #expect(enough.note == nil)
        #expect(abs(enough.absolute - 0.2) < 1e-15)
        #expect(abs(try #require(enough.relative) - 1.0 / 3.0) < 1e-15)
        #expect(abs(enough.incrementalRevenuePerTreated - 0.5) < 1e-12, "100.00/70 - 40.00/80")
        #expect(LiftEstimate(LiftCounts(treated: .init(customers: 5, converted: 1))) == nil, "no control arm")
    }
}

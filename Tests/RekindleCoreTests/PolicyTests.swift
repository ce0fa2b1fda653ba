import RekindleCore
import Testing

/// Spec 7.3: frequency caps over sent touches, priorities among one instant's touches, exempt rules.
@Suite struct PolicyTests {
    /// The views family only, with a second abandoned-view rule due at the same instant
    /// (`view.b`, sms) and the given policy.
    static func rules(_ policy: String) -> RuleSet {
        let text = """
            {"version": "test", "policy": \(policy), "families": {
              "rf": {"enabled": false}, "reanimation": {"enabled": false}, "stage": {"enabled": false},
              "engagement": {"enabled": false}, "vip": {"enabled": false}, "frequency": {"enabled": false},
              "churn": {"enabled": false},
              "views": {"rules": {"view.b": {"like": "view.abandoned", "channel": "sms"}}}}}
            """
        do { return try RuleSet(overlay: JSONParser.parse(text)) } catch { fatalError("test rules: \(error)") }
    }

    static func error(_ policy: String) -> String? {
        do {
            _ = try RuleSet(overlay: JSONParser.parse(#"{"version": "test", "policy": \#(policy)}"#))
            return nil
        } catch let e as RuleError {
            return e.message
        } catch {
            return "\(error)"
        }
    }

    static func withheld(_ s: Scenario) -> [Trigger] {
        s.outputs.compactMap { if case .withheld(let t) = $0 { return t } else { return nil } }
    }

    /// Sessions of views two days apart, different products (so each session fires both rules).
    static func sessions(_ s: inout Scenario, days: [Double]) {
        for (k, d) in days.enumerated() { s.view("p\(k)", at: at(days: d)) }
        s.advance(to: at(days: (days.last ?? 0) + 10))
    }

    @Test func aTouchThatWouldExceedAChannelsCapIsWithheldAndCountsNothing() {
        // One email per 7 days: the email rule's touches at days 0, 2 and 8 (+ 1 h).
        var s = Scenario(Self.rules(#"{"caps": [{"channel": "email", "max": 1, "per_days": 7}]}"#))
        Self.sessions(&s, days: [0, 2, 8])
        #expect(s.fired("view.abandoned") == [Fired("view.abandoned", 1, at(hours: 1)), Fired("view.abandoned", 1, at(days: 8, hours: 1))],
            "day 2 is within 7 days of day 0; day 8 is not (the window is (t - 7 d, t])")
        #expect(Self.withheld(s).map { Fired($0.ruleId, $0.touch, $0.firedAt) } == [Fired("view.abandoned", 1, at(days: 2, hours: 1))])
        #expect(Self.withheld(s).allSatisfy { $0.withheld == .cap })
        #expect(s.fired("view.b").count == 3, "sms is not capped")
    }

    @Test func theWindowIsHalfOpenExactlySevenDaysLaterASlotIsFree() {
        var s = Scenario(Self.rules(#"{"caps": [{"channel": "email", "max": 1, "per_days": 7}]}"#))
        Self.sessions(&s, days: [0, 7])
        #expect(s.fired("view.abandoned").count == 2, "a touch 7 days after the last one: it has left (t - 7 d, t]")
        var t = Scenario(Self.rules(#"{"caps": [{"channel": "email", "max": 1, "per_days": 7}]}"#))
        t.view("p0", at: T0)
        t.view("p1", at: at(days: 7, ms: -1))
        t.advance(to: at(days: 20))
        #expect(t.fired("view.abandoned").count == 1, "1 ms short of 7 days: still capped")
    }

    @Test func anyCountsEveryChannelAndPriorityDecidesWhoTakesTheSlot() {
        // Both rules are due at the same instant; one message a week in all.
        var plain = Scenario(Self.rules(#"{"caps": [{"channel": "any", "max": 1, "per_days": 7}]}"#))
        Self.sessions(&plain, days: [0])
        #expect(plain.fired == [Fired("view.abandoned", 1, at(hours: 1))], "equal priority: rule_id order takes the slot")
        #expect(Self.withheld(plain).map(\.ruleId) == ["view.b"])

        var ranked = Scenario(Self.rules(#"{"caps": [{"channel": "any", "max": 1, "per_days": 7}], "rules": {"view.b": {"priority": 5}}}"#))
        Self.sessions(&ranked, days: [0])
        #expect(ranked.fired == [Fired("view.b", 1, at(hours: 1))], "the higher priority is decided first")
        #expect(Self.withheld(ranked).map(\.ruleId) == ["view.abandoned"])
    }

    @Test func anExemptRuleIsNeitherCountedNorCapped() {
        var s = Scenario(Self.rules(#"{"caps": [{"channel": "any", "max": 1, "per_days": 7}], "rules": {"view.abandoned": {"exempt": true}}}"#))
        Self.sessions(&s, days: [0, 2])
        #expect(s.fired("view.abandoned").count == 2, "exempt: never capped")
        #expect(s.fired("view.b") == [Fired("view.b", 1, at(hours: 1))], "the exempt touches took no slot; b's second is capped")
        #expect(Self.withheld(s).map(\.ruleId) == ["view.b"])
    }

    @Test func withheldTouchesCountAsFiredForTheRulesOwnState() {
        // The capped touch still counts for view.abandoned's re-offer rule: the same touches are
        // decided with the cap as without it, only where they go differs.
        var capped = Scenario(Self.rules(#"{"caps": [{"channel": "email", "max": 0, "per_days": 30}]}"#))
        var free = Scenario(Self.rules(#"{"caps": []}"#))
        for s in [0.0, 0.5, 3] {
            capped.view("p0", at: at(days: s))
            free.view("p0", at: at(days: s))
        }
        capped.advance(to: at(days: 20))
        free.advance(to: at(days: 20))
        let decided = (capped.triggers + Self.withheld(capped)).map { Fired($0.ruleId, $0.touch, $0.firedAt) }
        #expect(Set(decided.map(\.description)) == Set(free.fired.map(\.description)))
        #expect(capped.fired("view.abandoned").isEmpty)
    }

    @Test func aRestoredTaskKeepsCountingItsCaps() throws {
        let rules = Self.rules(#"{"caps": [{"channel": "email", "max": 1, "per_days": 7}]}"#)
        var before = Scenario(rules)
        before.view("p0", at: T0)
        before.advance(to: at(days: 1))
        var after = Scenario(rules)
        after.task = try CampaignTask(restoring: before.task.encodeState(), rules: rules)
        #expect(after.task.encodeState() == before.task.encodeState())
        after.view("p1", at: at(days: 2))
        after.advance(to: at(days: 3))
        #expect(after.fired("view.abandoned").isEmpty, "the touch of day 0 was counted before the restart")
        #expect(Self.withheld(after).map(\.withheld) == [.cap])
        #expect(after.task.stats.withheld == 1)
        let again = try CampaignTask(restoring: after.task.encodeState(), rules: rules)
        #expect(again.stats.withheld == 1)
    }

    @Test func badPoliciesAreRuleFileErrorsWithTheirPath() {
        #expect(Self.error(#"{"caps": [{"channel": "fax", "max": 1, "per_days": 7}]}"#)
            == #"policy.caps[0].channel: expected one of email, sms, manager, any, got "fax""#)
        #expect(Self.error(#"{"caps": [{"channel": "email", "max": -1, "per_days": 7}]}"#)
            == "policy.caps[0].max: expected a whole number from 0 to 1000000, got number -1")
        #expect(Self.error(#"{"caps": [{"channel": "email", "max": 1, "per_days": 0}]}"#)
            == "policy.caps[0].per_days: expected a whole number from 1 to 3650, got number 0")
        #expect(Self.error(#"{"caps": [{"channel": "email", "max": 1}]}"#) == "policy.caps[0]: missing per_days")
        #expect(Self.error(#"{"rules": {"rf.nwe": {"priority": 1}}}"#) == "policy.rules.rf.nwe: no rule has this id")
        #expect(Self.error(#"{"rules": {"rf.new": {"exempt": "yes"}}}"#) == #"policy.rules.rf.new.exempt: expected true or false, got string "yes""#)
        #expect(Self.error(#"{"require_opt_in": 1}"#) == "policy.require_opt_in: expected true or false, got number 1")
        #expect(Self.error(#"{"capz": []}"#) == "policy.capz: unknown parameter")
        #expect(Self.error(#"{"caps": [{"channel": "any", "max": 3, "per_days": 7}], "rules": {"rf.new": {"priority": 2, "exempt": false}}}"#) == nil)
    }

    // MARK: - Consent

    static func consent(_ s: inout Scenario, _ channel: String, _ granted: Bool, at t: Millis, customer: String = "c1") {
        let id = s.eventId()
        s.apply(Event(eventId: id, customerId: customer, occurredAt: t, body: .consent(ConsentEvent(channel: channel, granted: granted))))
    }

    @Test func aRevokedChannelsTouchesAreWithheldUntilConsentIsGrantedAgain() throws {
        var s = Scenario(Self.rules(#"{}"#))
        Self.consent(&s, "email", false, at: at(hours: -1))
        s.view("p0", at: T0)
        Self.consent(&s, "email", true, at: at(days: 1))
        s.view("p1", at: at(days: 2))
        s.advance(to: at(days: 5))
        #expect(s.fired("view.abandoned") == [Fired("view.abandoned", 1, at(days: 2, hours: 1))])
        #expect(Self.withheld(s).map { Fired($0.ruleId, $0.touch, $0.firedAt) } == [Fired("view.abandoned", 1, at(hours: 1))])
        #expect(Self.withheld(s).map(\.withheld) == [.noConsent])
        #expect(s.fired("view.b").count == 2, "sms was never revoked")
        let view = String(decoding: try #require(s.task.describe(customer: "c1")), as: UTF8.self)
        #expect(view.contains(#""consent":{"email":true,"sms":true,"manager":true}"#))
        #expect(view.contains(#""first_seen":"2026-01-01T00:00:00.000Z""#), "a consent event is not a signal: first seen is the view")
    }

    @Test func withoutAPolicyARevocationIsStillHonoured() {
        var s = Scenario(rulesOnly(["views"]))
        Self.consent(&s, "any", false, at: T0)
        s.view("p0", at: T0)
        s.advance(to: at(days: 2))
        #expect(s.triggers.isEmpty)
        #expect(Self.withheld(s).map(\.withheld) == [.noConsent])
    }

    @Test func anOptInPolicyWithholdsUntilTheChannelOrAnyIsGranted() throws {
        var s = Scenario(Self.rules(#"{"require_opt_in": true}"#))
        s.view("p0", at: T0)
        Self.consent(&s, "sms", true, at: at(days: 1))
        s.view("p1", at: at(days: 2))
        Self.consent(&s, "any", true, at: at(days: 3))
        Self.consent(&s, "email", false, at: at(days: 3, ms: -1))
        s.view("p2", at: at(days: 4))
        s.advance(to: at(days: 6))
        #expect(s.fired("view.b") == [Fired("view.b", 1, at(days: 2, hours: 1)), Fired("view.b", 1, at(days: 4, hours: 1))])
        #expect(s.fired("view.abandoned") == [Fired("view.abandoned", 1, at(days: 4, hours: 1))],
            "any, granted after email's revocation, decides")
        #expect(Self.withheld(s).count == 3 && Self.withheld(s).allSatisfy { $0.withheld == .noConsent })
        var fresh = Scenario(Self.rules(#"{"require_opt_in": true}"#))
        fresh.view("p0", at: T0)
        let view = String(decoding: try #require(fresh.task.describe(customer: "c1")), as: UTF8.self)
        #expect(view.contains(#""consent":{"email":false,"sms":false,"manager":false}"#))
    }

    @Test func aLateConsentEventDoesNotUndoALaterOne() {
        var s = Scenario(rulesOnly(["views"]), allowedLatenessMs: 2 * day)
        Self.consent(&s, "email", false, at: at(days: 1))
        Self.consent(&s, "email", true, at: at(hours: 12))
        s.view("p0", at: at(days: 1, hours: 1))
        s.advance(to: at(days: 10))
        #expect(s.triggers.isEmpty && Self.withheld(s).map(\.withheld) == [.noConsent])
    }

    @Test func consentSurvivesARestore() throws {
        let rules = rulesOnly(["views"])
        var before = Scenario(rules)
        Self.consent(&before, "email", false, at: T0)
        var after = Scenario(rules)
        after.task = try CampaignTask(restoring: before.task.encodeState(), rules: rules)
        #expect(after.task.encodeState() == before.task.encodeState())
        after.view("p0", at: at(days: 1))
        after.advance(to: at(days: 2))
        #expect(after.triggers.isEmpty && Self.withheld(after).map(\.withheld) == [.noConsent])
    }

    @Test func aConsentEventIsDecodedAndABadOneIsABadInputWithItsReason() {
        let good = #"{"type":"consent","event_id":"k1","customer_id":"c1","occurred_at":"2026-01-02T00:00:00Z","channel":"sms","granted":false}"#
        guard case .success(let e) = EventDecoder.decode(good) else { Issue.record("not decoded"); return }
        #expect(e.body == .consent(ConsentEvent(channel: "sms", granted: false)) && e.topic == .emailOpens)
        #expect(EventDecoder.decode(good, expecting: .orders) == .failure(InputError(.wrongTopic, "type: a consent event does not belong on the orders topic")))
        let fax = good.replacingOccurrences(of: #""sms""#, with: #""fax""#)
        #expect(EventDecoder.decode(fax) == .failure(InputError(.unknownChannel, #"channel: expected one of email, sms, manager, any, got "fax""#)))
        let yes = good.replacingOccurrences(of: "false", with: #""yes""#)
        #expect(EventDecoder.decode(yes) == .failure(InputError(.wrongType, #"granted: expected true or false, got string "yes""#)))
    }
}

import Logging
import RekindleCore
import RekindleKafka
@testable import RekindleRuntime
import Testing

@Suite struct RuleReloadTests {
    static func message(_ topic: String, _ offset: Int64, _ json: String) -> ConsumerEvent {
        .message(ConsumedMessage(topicPartition: TopicPartition(topic, 0), offset: offset, key: Array("c1".utf8),
                                 value: Array(json.utf8), timestamp: nil))
    }

    /// Spec section 4: rules changed while running take effect from now on; the new version goes
    /// into the triggers (and so the snapshots) after the change.
    @Test func aReloadedRuleSetTakesEffectFromNowWithoutRetroactiveTouches() throws {
        let rf = try RuleSet(overlay: JSONParser.parse(#"{"version": "a", "families": {"reanimation": {"enabled": false}, "stage": {"enabled": false}, "vip": {"enabled": false}, "engagement": {"enabled": false}, "views": {"enabled": false}, "frequency": {"enabled": false}}}"#))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var engine = LiveEngine(rules: rf, topics: TopicNames(), allowedLatenessMs: 0, metrics: nil, logger: logger)
        let inputs = TopicNames().inputs.map { TopicPartition($0, 0) }
        var out: [LiveEngine.TaskOutput] = []
        var dead: [LiveEngine.DeadLetterOut] = []
        let none: LiveEngine.OutputReader = { _ in OutputLedger() }
        let ends = inputs.map { ConsumerEvent.endOfPartition($0, offset: 0) }
        _ = engine.step([.assigned(inputs)] + ends, out: &out, dead: &dead, readOutputs: none)
        _ = engine.step([
            Self.message("orders", 0, #"{"type":"order","event_id":"e1","customer_id":"c1","order_id":"o1","status":"completed","occurred_at":"2026-01-01T00:00:00Z","total":10}"#),
            Self.message("email-opens", 0, #"{"type":"email_open","event_id":"e2","customer_id":"c1","message_id":"m","occurred_at":"2026-01-08T00:00:00Z"}"#),
        ] + ends, out: &out, dead: &dead, readOutputs: none)
        #expect(out.isEmpty, "rf.new is due at day 10; the watermark is day 7")

        // rf.new moves to 5 days: its touch 1 (day 5) has passed and never fires; touch 2 (day 11) does.
        let changed = try RuleSet(overlay: JSONParser.parse(#"{"version": "b", "families": {"rf": {"rules": {"rf.new": {"days": 5}}}, "reanimation": {"enabled": false}, "stage": {"enabled": false}, "vip": {"enabled": false}, "engagement": {"enabled": false}, "views": {"enabled": false}, "frequency": {"enabled": false}}}"#))
        try engine.reload(changed)
        _ = engine.step([
            Self.message("email-opens", 1, #"{"type":"email_open","event_id":"e3","customer_id":"c1","message_id":"m","occurred_at":"2026-01-21T00:00:00Z"}"#),
        ] + ends, out: &out, dead: &dead, readOutputs: none)
        let fired = out.flatMap(\.outputs).compactMap { o -> String? in
            if case .trigger(let t) = o { return "\(t.ruleId)#\(t.touch)@\(Timestamp.format(t.firedAt)) \(t.rulesVersion)" }
            return nil
        }
        #expect(fired == ["rf.new#2@2026-01-12T00:00:00.000Z \(changed.hash)"])
        let snap = engine.snapshots(of: nil, outputOffsets: [])
        #expect(snap.first?.rulesVersion == changed.hash)
    }
}

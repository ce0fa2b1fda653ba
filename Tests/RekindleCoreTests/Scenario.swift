import RekindleCore
import Testing

/// 2026-01-01T00:00:00Z: the origin of every hand-checkable time in these tests.
let T0: Millis = 1_767_225_600_000
let day = millisPerDay
let hour = millisPerHour
let minute = millisPerMinute

/// Milliseconds after T0: `at(days: 10)` is 2026-01-11T00:00:00Z.
func at(days: Double = 0, hours: Double = 0, minutes: Double = 0, ms: Millis = 0) -> Millis {
    T0 + Millis(days * Double(day)) + Millis(hours * Double(hour)) + Millis(minutes * Double(minute)) + ms
}

/// A rule set with only the named families enabled (plus any overlay), so a test sees only
/// the triggers it is about.
func rulesOnly(_ families: [String], overlay extra: String = "") -> RuleSet {
    let off = RuleSet.families.filter { !families.contains($0) }
        .map { "\"\($0)\": {\"enabled\": false}" }.joined(separator: ", ")
    let text = "{\"version\": \"test\", \"families\": {\(off)\(extra.isEmpty ? "" : (off.isEmpty ? "" : ", ") + extra)}}"
    do { return try RuleSet(overlay: JSONParser.parse(text)) } catch { fatalError("test rules: \(error) in \(text)") }
}

/// Drives one task with events written in a line each, and collects what it emits.
struct Scenario {
    var task: CampaignTask
    var outputs: [Output] = []
    private var nextEvent = 0

    init(_ rules: RuleSet = .defaults, allowedLatenessMs: Millis = 0) {
        task = CampaignTask(rules: rules, allowedLatenessMs: allowedLatenessMs)
    }

    init(only families: [String], overlay: String = "") { self.init(rulesOnly(families, overlay: overlay)) }

    mutating func eventId() -> String {
        nextEvent += 1
        return "e\(nextEvent)"
    }

    mutating func apply(_ e: Event) { task.apply(e, into: &outputs) }

    mutating func order(
        _ orderId: String, _ status: OrderStatus, at t: Millis, customer: String = "c1", total: Double = 100,
        items: [String] = [], vip: Bool = false, eventId: String? = nil
    ) {
        let id = eventId ?? self.eventId()
        apply(Event(eventId: id, customerId: customer, occurredAt: t, body: .order(OrderEvent(
            orderId: orderId, status: status, total: total,
            items: items.map { OrderItem(productId: $0, quantity: 1, price: nil) }, loyaltyTier: vip ? "vip" : nil))))
    }

    /// An order that is completed at `t` in one event.
    mutating func purchase(_ orderId: String, at t: Millis, customer: String = "c1", total: Double = 100, items: [String] = []) {
        order(orderId, .completed, at: t, customer: customer, total: total, items: items)
    }

    mutating func view(_ product: String, at t: Millis, customer: String = "c1") {
        let id = eventId()
        apply(Event(eventId: id, customerId: customer, occurredAt: t, body: .productView(ProductViewEvent(productId: product))))
    }

    mutating func open(at t: Millis, customer: String = "c1", click: Bool = false) {
        let id = eventId()
        apply(Event(eventId: id, customerId: customer, occurredAt: t, body: .email(EmailEvent(clicked: click, messageId: "m\(id)"))))
    }

    mutating func advance(to t: Millis) { task.advance(to: t, into: &outputs) }

    var triggers: [Trigger] {
        outputs.compactMap { if case .trigger(let t) = $0 { return t } else { return nil } }
    }

    var conversions: [Conversion] {
        outputs.compactMap { if case .conversion(let c) = $0 { return c } else { return nil } }
    }

    func triggers(_ ruleId: String) -> [Trigger] { triggers.filter { $0.ruleId == ruleId } }

    /// (rule_id, touch, fired_at) of every trigger, in firing order: the compact form tests compare.
    var fired: [Fired] { triggers.map { Fired($0.ruleId, $0.touch, $0.firedAt) } }

    func fired(_ ruleId: String) -> [Fired] { fired.filter { $0.rule == ruleId } }

    mutating func clear() { outputs.removeAll() }
}

struct Fired: Equatable, CustomStringConvertible {
    var rule: String
    var touch: Int
    var at: Millis
    init(_ rule: String, _ touch: Int, _ at: Millis) {
        self.rule = rule
        self.touch = touch
        self.at = at
    }
    var description: String { "\(rule)#\(touch)@\(Timestamp.format(at))" }
}

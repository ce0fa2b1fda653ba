/// `vip.entered` (spec 3.4): the first time a customer has enough purchases and spend, or
/// shows a VIP card. Fires once per customer, ever.
public struct VIPRule: Sendable, Equatable {
    public var minPurchases: Int
    public var minTotalSpent: Double
    public var card: Bool

    static let ranges: [String: ParamRange] = [
        "min_purchases": .purchases, "min_total_spent": .number(0...1e12, "money"),
    ]

    init(_ p: inout RuleParams) throws(RuleError) {
        minPurchases = try p.int("min_purchases")
        minTotalSpent = try p.number("min_total_spent")
        card = try p.bool("card")
    }

    public func qualifies(_ facts: CustomerFacts) -> Bool {
        (card && facts.vipCard) || (facts.completedOrders >= minPurchases && facts.totalSpent >= minTotalSpent)
    }
}

/// The `vip` family (spec 3.4): `vip.entered` fires once per customer and rule, at the order event
/// after which the customer qualifies. Its state is whether any of its rules has seen the customer
/// enter; its part of the customer block is `vip` (entered, or holding the card).
struct VIPFamily: RuleFamily {
    static let name = "vip"
    static let kinds = ["entered"]
    static func kindRanges(_ kind: String) -> [String: ParamRange] { VIPRule.ranges }

    var rules: [Indexed<VIPRule>] = []
    /// Whether the customer entered VIP by a rule of this family (kept when a removal undoes the
    /// purchases: spec 3.8 item 3).
    var entered: [Bool] = []

    init(_ p: inout RuleParams, shop: ShopParameters) throws(RuleError) {}

    func compile(kind: String, _ p: inout RuleParams, common: TouchSpec) throws(RuleError) -> (VIPRule, [TouchSpec]) {
        (try VIPRule(&p), [common])
    }

    mutating func addCustomer() { entered.append(false) }
    mutating func erase(_ c: Int) { entered[c] = false }

    mutating func onEvent(_ e: AppliedEvent, _ c: Int, _ core: inout TaskCore, fired: inout [EventFiring]) {
        guard case .order = e else { return }
        for r in rules {
            let once = CustomerState.FiredTouch(rule: r.index, anchor: .min, touch: 1)
            guard !core.customers[current: c].hasFired(once), r.rule.qualifies(core.customers[current: c].facts) else { continue }
            core.customers[current: c].fired.append(once)
            entered[c] = true
            // A late event's moment has passed: it is remembered, not fired.
            if !e.late { fired.append(EventFiring(rule: r.index, touch: 1)) }
        }
    }

    func candidates<S: WakeSink>(_ c: Int, _ core: TaskCore, _ body: inout S) {}

    func holds(_ local: Int, touch: Int32, _ c: Int, _ core: TaskCore) -> Bool { true }

    mutating func fire(_ local: Int, touch: Int32, _ c: Int, at w: Millis, _ core: inout TaskCore) -> Firing? { nil }

    func customerFields(_ c: Int, _ core: TaskCore, at t: Millis, view: Bool, into fields: inout [CustomerField]) {
        let card = facts(c, core).vipCard
        fields.append(CustomerField("vip", .bool(card || entered[c])))
        if view { fields.append(CustomerField("vip_card", .bool(card))) }
    }

    func encodeSection(_ w: inout ByteWriter, _ core: TaskCore) { w.bits(entered) }

    mutating func decodeSection(_ r: inout ByteReader, version: UInt64, _ core: TaskCore, remap: RuleRemap) throws(SnapshotError) {
        entered = try r.bits(count: core.customers.count)
    }

    mutating func startFromFacts(_ core: TaskCore) {
        let ids = rules.map(\.index)
        entered = core.customers.map { c in c.fired.contains { $0.anchor == .min && ids.contains($0.rule) } }
    }

    mutating func migrate(format1 customers: [Format1Customer], _ core: TaskCore) {
        entered = customers.map(\.vipEntered)
    }
}

extension CustomerSnapshot {
    /// The `vip` family's field.
    public var vip: Bool? {
        guard case .bool(let b)? = self["vip"] else { return nil }
        return b
    }
}

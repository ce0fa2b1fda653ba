/// The `engagement` family (spec 3.5): a customer is warm until `cold_after_days` after their last
/// signal (any event) and cold from then on. `engagement.cooled` fires as they turn cold,
/// `engagement.rewarmed` at the signal that ends a cold spell. Its state is whether each customer
/// is in a cold spell; its part of the customer block is `engagement`.
struct EngagementFamily: RuleFamily {
    enum Rule: Sendable, Equatable {
        case cooled
        case rewarmed
    }

    static let name = "engagement"
    static let kinds = ["cooled", "rewarmed"]
    static let familyRanges: [String: ParamRange] = ["cold_after_days": .days]
    static func kindRanges(_ kind: String) -> [String: ParamRange] { [:] }

    let coldAfterMs: Millis
    var rules: [Indexed<Rule>] = []
    /// Whether each customer is in a cold spell: set when a wake-up finds the spell has begun,
    /// cleared by the next signal that is not late.
    var cold: [Bool] = []

    init(_ p: inout RuleParams, shop: ShopParameters) throws(RuleError) {
        coldAfterMs = try p.days("cold_after_days")
    }

    func compile(kind: String, _ p: inout RuleParams, common: TouchSpec) throws(RuleError) -> (Rule, [TouchSpec]) {
        (kind == "cooled" ? .cooled : .rewarmed, [common])
    }

    mutating func addCustomer() { cold.append(false) }
    mutating func erase(_ c: Int) { cold[c] = false }

    mutating func onEvent(_ e: AppliedEvent, _ c: Int, _ core: inout TaskCore, fired: inout [EventFiring]) {
        guard !e.late && cold[c] else { return }
        cold[c] = false
        for r in rules where r.rule == .rewarmed { fired.append(EventFiring(rule: r.index, touch: 1)) }
    }

    func candidates<S: WakeSink>(_ c: Int, _ core: TaskCore, _ body: inout S) {
        guard !rules.isEmpty, !cold[c], let last = core.customers.read(c, { $0.lastSignal }) else { return }
        let due = last.adding(coldAfterMs)
        // Wake when the spell begins, even with no `cooled` rule: `rewarmed` needs to know.
        body.add(-1, 1, due, .min)
        for r in rules where r.rule == .cooled { body.add(r.index, 1, due, .min) }
    }

    mutating func wake(_ c: Int, at w: Millis, _ core: TaskCore) {
        if let last = core.customers[current: c].lastSignal, !cold[c], last.adding(coldAfterMs) <= w { cold[c] = true }
    }

    func holds(_ local: Int, touch: Int32, _ c: Int, _ core: TaskCore) -> Bool { true }

    mutating func fire(_ local: Int, touch: Int32, _ c: Int, at w: Millis, _ core: inout TaskCore) -> Firing? {
        Firing()
    }

    func customerFields(_ c: Int, _ core: TaskCore, at t: Millis, view: Bool, into fields: inout [CustomerField]) {
        let isCold = core.customers[c].lastSignal.map { t >= $0.adding(coldAfterMs) } ?? false
        fields.append(CustomerField("engagement", .string(isCold ? "cold" : "warm")))
    }

    func encodeSection(_ w: inout ByteWriter, _ core: TaskCore) { w.bits(cold) }

    mutating func decodeSection(_ r: inout ByteReader, version: UInt64, _ core: TaskCore, remap: RuleRemap) throws(SnapshotError) {
        cold = try r.bits(count: core.customers.count)
    }

    mutating func startFromFacts(_ core: TaskCore) {
        cold = core.customers.map { c in c.lastSignal.map { $0.adding(coldAfterMs) <= core.timerClock } ?? false }
    }

    mutating func migrate(format1 customers: [Format1Customer], _ core: TaskCore) {
        cold = customers.map(\.cold)
    }
}

extension CustomerSnapshot {
    /// The `engagement` family's field: whether the customer was cold.
    public var cold: Bool? {
        guard case .string(let s)? = self["engagement"] else { return nil }
        return s == "cold"
    }
}

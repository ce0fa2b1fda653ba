/// `churn.risk` (spec 3.9, seed 004): touch 1 when the BG/NBD odds say the customer has probably
/// gone, for the current `L`.
public struct ChurnRiskRule: Sendable, Equatable {
    /// Fires once `churn_risk` (P(no purchase within the family's horizon)) is at least this.
    public var threshold: Double

    static let ranges: [String: ParamRange] = ["threshold": .above(0, upTo: 1, "probability")]

    init(_ p: inout RuleParams) throws(RuleError) {
        threshold = try p.number("threshold")
    }
}

/// The `churn` family (spec 3.9): with a fitted model in the rule set (`families.churn.model`, as
/// `rekindle churn fit` writes it), every customer block and customer view carries `p_alive`,
/// `churn_risk` and `expected_purchases` as of its instant, and `churn.risk` fires at the start of
/// the first UTC day on which the customer's `churn_risk` reaches the rule's threshold. Without a
/// model the family's rules are checked but compiled into nothing, and it adds no field.
///
/// When: spec 3.9 says "the start of the first UTC day at which churn_risk >= threshold". A
/// one-time buyer's risk is typically over 0.66 already on the day of the purchase (CDNOW's fit:
/// 0.72 at T = t_x), and that day starts before `L`, so the day searched is the first one strictly
/// after `L`'s day (`day(L) + 1, day(L) + 2, ...`, `T_now` = that day), from the summary `x, t_x`
/// of the purchases as of `L`. The risk only grows with `T` until the next purchase, so the day is
/// a function of the purchases alone: it is cached per customer and rule (an absolute UTC day
/// number), recomputed at each order event (a purchase moves it, a removal may bring back an
/// earlier `L`), never at the other events that reschedule the customer. The touch is anchored on
/// `L` in the task's ledger: once per `L`, also when a removal brings back an `L` it already fired
/// for (spec 3.8 item 4); its condition is checked again from the purchases when it is due.
struct ChurnFamily: RuleFamily {
    static let name = "churn"
    static let kinds = ["risk"]
    static let modelRanges: [String: ParamRange] = [
        "r": .above(0, upTo: 1e12, "model parameter"), "alpha": .above(0, upTo: 1e12, "weeks"),
        "a": .above(0, upTo: 1e12, "model parameter"), "b": .above(0, upTo: 1e12, "model parameter"),
        "log_likelihood": .number(-1e14...1e14, "log-likelihood"), "customers": .whole(0...1_000_000_000_000, "customers"),
    ]
    static let familyRanges: [String: ParamRange] = modelRanges.reduce(into: ["horizon_days": .above(0, upTo: ParamRange.maxSpanDays, "days")]) {
        $0["model." + $1.key] = $1.value
    }
    static func kindRanges(_ kind: String) -> [String: ParamRange] { ChurnRiskRule.ranges }
    /// No due day: no purchase, or the risk stays under the threshold for 100 years.
    static let none = Int32.min
    /// How far after `L`'s day the search goes: the longest span a rule may give.
    static let searchDays = Int64(ParamRange.maxSpanDays)

    /// The fitted model; nil: the family fires nothing and adds no field.
    let model: ChurnModel?
    /// `h` of spec 3.9: `horizon_days / 7`, for every field and rule of the family.
    let horizonWeeks: Double
    var rules: [Indexed<ChurnRiskRule>] = []
    /// Per customer, per rule (`due[c * rules.count + k]`): the UTC day number on whose start the
    /// rule's touch for the current `L` is due, or `none`. Empty without a model.
    var due: [Int32] = []

    var active: Bool { model != nil }

    init(_ p: inout RuleParams, shop: ShopParameters) throws(RuleError) {
        horizonWeeks = ChurnModel.horizonWeeks(days: try p.number("horizon_days"))
        guard let raw = p.raw("model"), raw != .null else {
            model = nil
            return
        }
        var m = try RuleParams(raw, path: "\(p.path).model", ranges: Self.modelRanges)
        model = ChurnModel(r: try m.number("r"), alpha: try m.number("alpha"), a: try m.number("a"), b: try m.number("b"))
        // What the fit reports about itself: optional, checked, not used.
        _ = try m.optionalNumber("log_likelihood")
        _ = try m.optionalInt("customers")
        if let v = m.raw("fitted_until"), v != .null {
            guard case .string(let s) = v, Timestamp.parse(s) != nil else {
                throw RuleError("\(m.path).fitted_until: expected an RFC 3339 time, got \(v.described)")
            }
        }
        try m.finish()
    }

    func compile(kind: String, _ p: inout RuleParams, common: TouchSpec) throws(RuleError) -> (ChurnRiskRule, [TouchSpec]) {
        (try ChurnRiskRule(&p), [common])
    }

    // MARK: The fold

    mutating func addCustomer() {
        for _ in rules.indices { due.append(Self.none) }
    }

    mutating func erase(_ c: Int) {
        for k in rules.indices { due[c * rules.count + k] = Self.none }
    }

    mutating func onEvent(_ e: AppliedEvent, _ c: Int, _ core: inout TaskCore, fired: inout [EventFiring]) {
        guard case .order = e, !rules.isEmpty else { return }
        recompute(c, core.customers[current: c])
    }

    mutating func recompute(_ c: Int, _ s: CustomerState) {
        for k in rules.indices { due[c * rules.count + k] = dueDay(rules[k].rule, s) }
    }

    /// The first UTC day after `L`'s day on whose start `churn_risk >= threshold`, from the
    /// purchases as of `L` (see the type's comment), or `none`.
    func dueDay(_ rule: ChurnRiskRule, _ s: CustomerState) -> Int32 {
        guard let model, s.facts.completedOrders > 0,
            let summary = ChurnSummary(purchases: s.purchases.lazy.map(\.at), at: s.facts.lastPurchaseAt)
        else { return Self.none }
        let first = ChurnSummary.day(s.facts.firstPurchaseAt)
        let lastDay = ChurnSummary.day(s.facts.lastPurchaseAt) - first
        guard
            let d = model.firstDayAtRisk(
                x: summary.x, lastDay: lastDay, from: lastDay + 1, threshold: rule.threshold, horizonWeeks: horizonWeeks,
                limit: Self.searchDays)
        else { return Self.none }
        let day = first + d
        // A touch due past the year 9999 never fires.
        guard day * millisPerDay <= Timestamp.latest else { return Self.none }
        return Int32(day)
    }

    func candidates<S: WakeSink>(_ c: Int, _ core: TaskCore, _ body: inout S) {
        guard !rules.isEmpty else { return }
        let last = facts(c, core).lastPurchaseAt
        for (k, r) in rules.enumerated() {
            let d = due[c * rules.count + k]
            if d != Self.none { body.add(r.index, 1, Millis(d) * millisPerDay, last) }
        }
    }

    /// Checked again from the purchases: the risk on the due day's start (the firing instant when
    /// it fires; ahead, in the customer view) is at the threshold.
    func holds(_ local: Int, touch: Int32, _ c: Int, _ core: TaskCore) -> Bool {
        let d = due[c * rules.count + local]
        guard let model, d != Self.none else { return false }
        let s = core.customers[c]
        guard let summary = ChurnSummary(purchases: s.purchases.lazy.map(\.at), at: Millis(d) * millisPerDay) else { return false }
        return model.churnRisk(summary, horizonWeeks: horizonWeeks) >= rules[local].rule.threshold
    }

    mutating func fire(_ local: Int, touch: Int32, _ c: Int, at w: Millis, _ core: inout TaskCore) -> Firing? {
        Firing()
    }

    /// `p_alive`, `churn_risk` and `expected_purchases` of the purchases as of `t` (`T_now` =
    /// `t`'s day), for a customer with a purchase by then.
    func customerFields(_ c: Int, _ core: TaskCore, at t: Millis, view: Bool, into fields: inout [CustomerField]) {
        guard let model else { return }
        let s = core.customers[c]
        guard s.facts.completedOrders > 0, let summary = ChurnSummary(purchases: s.purchases.lazy.map(\.at), at: t) else { return }
        let score = model.score(summary, horizonWeeks: horizonWeeks)
        fields.append(CustomerField("p_alive", .double(score.pAlive)))
        fields.append(CustomerField("churn_risk", .double(score.churnRisk)))
        fields.append(CustomerField("expected_purchases", .double(score.expectedPurchases)))
    }

    // MARK: Snapshots

    /// What the cached days were computed with: a restore under another model, horizon or
    /// thresholds recomputes them from the purchases instead of reading them.
    var fingerprint: [Double] {
        guard let model else { return [] }
        return [model.r, model.alpha, model.a, model.b, horizonWeeks] + rules.map(\.rule.threshold)
    }

    func encodeSection(_ w: inout ByteWriter, _ core: TaskCore) {
        let print = fingerprint
        w.varint(UInt64(print.count))
        for v in print { w.double(v) }
        w.varint(UInt64(rules.count))
        for d in due { w.int(d) }
    }

    mutating func decodeSection(_ r: inout ByteReader, version: UInt64, _ core: TaskCore, remap: RuleRemap) throws(SnapshotError) {
        var print: [Double] = []
        for _ in 0..<(try r.count(max: 1 << 20)) { print.append(try r.double()) }
        let width = try r.count(max: 1 << 20)
        var days: [Int32] = []
        days.reserveCapacity(core.customers.count * width)
        for _ in 0..<(core.customers.count * width) { days.append(try r.int32()) }
        if print == fingerprint && width == rules.count {
            due = days
        } else {
            startFromFacts(core)
        }
    }

    mutating func startFromFacts(_ core: TaskCore) {
        due = []
        guard !rules.isEmpty else { return }
        due.reserveCapacity(core.customers.count * rules.count)
        for c in core.customers.indices {
            let s = core.customers[c]
            for r in rules { due.append(dueDay(r.rule, s)) }
        }
    }
}

extension CustomerSnapshot {
    /// The `churn` family's fields (spec 3.9), present with a model and a purchase.
    public var pAlive: Double? { double("p_alive") }
    public var churnRisk: Double? { double("churn_risk") }
    public var expectedPurchases: Double? { double("expected_purchases") }

    private func double(_ key: String) -> Double? {
        guard case .double(let d)? = self[key] else { return nil }
        return d
    }
}

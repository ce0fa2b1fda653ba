/// Stage triggers by the customer's own rhythm (spec 3.3, seed 002).
public struct RhythmRule: Sendable, Equatable {
    /// Fires at `L + floor(factor x mean_interval)`.
    public var factor: Double
    public var minPurchases: Int

    static let ranges: [String: ParamRange] = ["factor": .factor, "min_purchases": .purchases]

    init(_ p: inout RuleParams) throws(RuleError) {
        factor = try p.number("factor")
        minPurchases = try p.int("min_purchases")
    }

    public func due(facts: CustomerFacts, shop: ShopParameters) -> Millis { facts.afterLast(factor, shop) }
    public func applies(to facts: CustomerFacts) -> Bool { facts.completedOrders >= minPurchases }
}

/// `stage.prospect`: some days after a customer is first seen, while `n = 0`.
public struct ProspectRule: Sendable, Equatable {
    public var afterMs: Millis

    static let ranges: [String: ParamRange] = ["after_days": .days]

    init(_ p: inout RuleParams) throws(RuleError) { afterMs = try p.days("after_days") }
}
public enum LifecycleStage: String, Sendable {
    case prospect, active, atRisk = "at_risk", lapsed
}

extension CustomerFacts {
    /// Stage by the customer's own rhythm (spec 3.3) at instant `t`.
    public func stage(at t: Millis, atRiskFactor: Double, lapsedFactor: Double, _ shop: ShopParameters) -> LifecycleStage {
        guard completedOrders > 0 else { return .prospect }
        if t >= afterLast(lapsedFactor, shop) { return .lapsed }
        if t >= afterLast(atRiskFactor, shop) { return .atRisk }
        return .active
    }
}

/// The `stage` family (spec 3.3): stage triggers by the customer's own rhythm, anchored on the last
/// purchase, and `stage.prospect` after a customer is first seen. Its part of the customer block
/// is the stage. No state of its own.
struct StageFamily: RuleFamily {
    enum Rule: Sendable, Equatable {
        case rhythm(RhythmRule)
        case prospect(ProspectRule)
    }

    static let name = "stage"
    static let kinds = ["rhythm", "prospect"]
    static let familyRanges: [String: ParamRange] = ["at_risk_factor": .factor, "lapsed_factor": .factor]
    static func kindRanges(_ kind: String) -> [String: ParamRange] {
        kind == "rhythm" ? RhythmRule.ranges : ProspectRule.ranges
    }

    let atRiskFactor: Double
    let lapsedFactor: Double
    let shop: ShopParameters
    var rules: [Indexed<Rule>] = []

    init(_ p: inout RuleParams, shop: ShopParameters) throws(RuleError) {
        atRiskFactor = try p.number("at_risk_factor")
        lapsedFactor = try p.number("lapsed_factor")
        self.shop = shop
    }

    func compile(kind: String, _ p: inout RuleParams, common: TouchSpec) throws(RuleError) -> (Rule, [TouchSpec]) {
        (kind == "rhythm" ? .rhythm(try RhythmRule(&p)) : .prospect(try ProspectRule(&p)), [common])
    }

    func candidates<S: WakeSink>(_ c: Int, _ core: TaskCore, _ body: inout S) {
        let f = facts(c, core)
        let firstSeen = core.customers.read(c) { $0.firstSeen }
        for r in rules {
            switch r.rule {
            case .rhythm(let rhythm):
                if f.completedOrders > 0 { body.add(r.index, 1, rhythm.due(facts: f, shop: shop), f.lastPurchaseAt) }
            case .prospect(let p):
                if let seen = firstSeen { body.add(r.index, 1, seen.adding(p.afterMs), .min) }
            }
        }
    }

    func holds(_ local: Int, touch: Int32, _ c: Int, _ core: TaskCore) -> Bool {
        let f = facts(c, core)
        switch rules[local].rule {
        case .rhythm(let rhythm): return rhythm.applies(to: f)
        // Spec 3.8 item 6: "without a purchase" is n = 0 at that instant.
        case .prospect: return f.completedOrders == 0
        }
    }

    mutating func fire(_ local: Int, touch: Int32, _ c: Int, at w: Millis, _ core: inout TaskCore) -> Firing? {
        Firing()
    }

    func customerFields(_ c: Int, _ core: TaskCore, at t: Millis, view: Bool, into fields: inout [CustomerField]) {
        let stage = facts(c, core).stage(at: t, atRiskFactor: atRiskFactor, lapsedFactor: lapsedFactor, shop)
        fields.append(CustomerField("stage", .string(stage.rawValue)))
    }
}

extension CustomerSnapshot {
    /// The `stage` family's field.
    public var stage: LifecycleStage? {
        guard case .string(let s)? = self["stage"] else { return nil }
        return LifecycleStage(rawValue: s)
    }
}

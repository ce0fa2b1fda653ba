import Crypto

/// Why a touch was decided but not sent (spec 7.1): it goes to `campaign-withheld`, counts as fired
/// in every piece of rule state, and never receives a last-touch conversion.
public enum WithheldReason: String, Sendable, Equatable, CaseIterable {
    case holdout
    case globalControl = "global_control"
    case cap
    case noConsent = "no_consent"
}

/// The rule file's `experiments` section (spec 7.2): a global control group and per-rule holdouts,
/// drawn from the customer id alone, so an analyst can recompute every group from the ids.
public struct Experiments: Sendable, Equatable {
    /// The experiment's name: a new name draws new groups.
    public let name: String
    /// The share of customers in the global control group (every touch withheld).
    public let globalControl: Double
    /// Each rule's holdout share, by rule index (the section's `holdout` unless the rule names its own).
    public let holdout: [Double]

    static let ranges: [String: ParamRange] = [
        "global_control": .number(0...1, "share of customers"), "holdout": .number(0...1, "share of customers"),
    ]

    /// Compiles `experiments: {name, global_control, holdout, rules: {RULE_ID: {holdout}}}` for the
    /// enabled `rules`; `known` are every rule id of the rule file, enabled or not (a holdout may
    /// name a rule that is switched off for now; a misspelt id is an error).
    init(_ value: JSONValue, rules: [CompiledRule], known: Set<String>) throws(RuleError) {
        var p = try RuleParams(value, path: "experiments", ranges: Self.ranges)
        name = try p.string("name")
        globalControl = try p.optionalNumber("global_control") ?? 0
        let share = try p.optionalNumber("holdout") ?? 0
        var own: [String: Double] = [:]
        try p.eachRule("rules", known: known, ranges: Self.ranges) { id, r throws(RuleError) in own[id] = try r.number("holdout") }
        try p.finish()
        holdout = rules.map { own[$0.id] ?? share }
    }

    /// `u` of spec 7.2: the first 8 bytes of SHA-256("holdout|NAME|SCOPE|CUSTOMER"), big-endian,
    /// over 2^64 (the nearest double, as Python's `int / 2**64` gives it).
    public static func draw(experiment: String, scope: String, customerId: String) -> Double {
        var input: [UInt8] = Array("holdout|".utf8)
        input.reserveCapacity(input.count + experiment.utf8.count + scope.utf8.count + customerId.utf8.count + 2)
        input.append(contentsOf: experiment.utf8)
        input.append(124)
        input.append(contentsOf: scope.utf8)
        input.append(124)
        input.append(contentsOf: customerId.utf8)
        let digest = SHA256.hash(data: input)
        let x = digest.withUnsafeBytes { raw in raw.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
        return Double(x) / 18_446_744_073_709_551_616.0
    }

    /// Whether the customer is in the global control group.
    public func inGlobalControl(_ customerId: String) -> Bool {
        globalControl > 0 && Self.draw(experiment: name, scope: "global", customerId: customerId) < globalControl
    }

    /// Whether the customer is held out of rule `rule` (its index) with rule id `ruleId`.
    public func heldOut(rule: Int, ruleId: String, _ customerId: String) -> Bool {
        let share = holdout[rule]
        return share > 0 && Self.draw(experiment: name, scope: ruleId, customerId: customerId) < share
    }

    /// Why a touch of rule `rule` to this customer is withheld, if it is: the global control group
    /// is checked first.
    func withholding(rule: Int, ruleId: String, _ customerId: String) -> WithheldReason? {
        if inGlobalControl(customerId) { return .globalControl }
        return heldOut(rule: rule, ruleId: ruleId, customerId) ? .holdout : nil
    }
}

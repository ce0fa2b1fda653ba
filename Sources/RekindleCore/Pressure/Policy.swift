/// The rule file's `policy` section (spec 7.3): frequency caps over each customer's sent touches,
/// the priority that decides which of a customer's same-instant touches takes a capped slot, rules
/// exempt from caps (service messages), and whether touches need an explicit opt-in.
public struct Policy: Sendable, Equatable {
    public struct Cap: Sendable, Equatable {
        /// The channel counted, or nil for `any` (every channel).
        public let channel: String?
        public let max: Int
        public let perDays: Int
    }

    public let caps: [Cap]
    /// By rule index: higher goes first among one customer's touches due at one instant.
    public let priority: [Double]
    /// By rule index: neither counted nor capped.
    public let exempt: [Bool]
    /// Touches need a `consent` event granting their channel (else consent holds until revoked).
    public let requireOptIn: Bool

    public static let channels = ["email", "sms", "manager", "any"]

    static let capRanges: [String: ParamRange] = [
        "max": .whole(0...1_000_000, "touches"), "per_days": .whole(1...3_650, "days"),
    ]
    static let ruleRanges: [String: ParamRange] = ["priority": .number(-1_000_000...1_000_000, "rank")]

    /// The longest span a cap counts over: sent touches older than this are forgotten. Stored:
    /// it is read at every touch.
    public let longestSpanMs: Millis

    init(_ value: JSONValue, rules: [CompiledRule], known: Set<String>) throws(RuleError) {
        var p = try RuleParams(value, path: "policy")
        var caps: [Cap] = []
        if let list = p.raw("caps"), list != .null {
            guard case .array(let items) = list else { throw RuleError("policy.caps: expected a list of caps, got \(list.described)") }
            for (k, item) in items.enumerated() {
                var c = try RuleParams(item, path: "policy.caps[\(k)]", ranges: Self.capRanges)
                let channel = try c.oneOf("channel", Self.channels)
                caps.append(Cap(channel: channel == "any" ? nil : channel, max: try c.int("max"), perDays: try c.int("per_days")))
                try c.finish()
            }
        }
        var priority: [String: Double] = [:], exempt: [String: Bool] = [:]
        try p.eachRule("rules", known: known, ranges: Self.ruleRanges) { id, r throws(RuleError) in
            priority[id] = try r.optionalNumber("priority")
            exempt[id] = try r.optionalBool("exempt")
        }
        requireOptIn = try p.optionalBool("require_opt_in") ?? false
        try p.finish()
        self.caps = caps
        longestSpanMs = Millis(caps.map(\.perDays).max() ?? 0) * millisPerDay
        self.priority = rules.map { priority[$0.id] ?? 0 }
        self.exempt = rules.map { exempt[$0.id] ?? false }
    }

    /// Whether rule `a`'s touch `ta` is decided before rule `b`'s touch `tb` at one instant:
    /// higher priority first, then spec 3.8's (rule_id, touch) order.
    func before(_ a: Int32, _ ta: Int32, _ b: Int32, _ tb: Int32) -> Bool {
        let pa = priority[Int(a)], pb = priority[Int(b)]
        if pa != pb { return pa > pb }
        return a != b ? a < b : ta < tb
    }
}

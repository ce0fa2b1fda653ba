import Crypto

/// One enabled rule: its id, its family and its touches' channels and conversion windows. What
/// the rule does is its family's (`Families/`).
public struct CompiledRule: Sendable, Equatable {
    public var id: String
    /// The family's name, as in the rule file.
    public var family: String
    /// Touch k's channel and conversion window at `touches[k - 1]`.
    public var touches: [TouchSpec]

    public var touchCount: Int { touches.count }
    /// Channel and conversion window of touch 1.
    public var channel: String { touches[0].channel }
    public var windowDays: Int { touches[0].windowDays }
    public func channel(touch: Int) -> String { touches[touch - 1].channel }
    public func windowDays(touch: Int) -> Int { touches[touch - 1].windowDays }
}

/// The effective rule set: the defaults with a user's file laid over them, validated and compiled.
/// Laying over is in `RuleSet+Overlay.swift`, the canonical forms in `RuleSet+Canonical.swift`,
/// each family's parameters in its own file.
public struct RuleSet: Sendable {
    public let version: String
    /// The effective rule set as a tree, every inherited default filled in.
    public let effective: JSONValue
    /// Hex of the first 8 bytes of SHA-256 over the canonical JSON of `effective`.
    public let hash: String
    public let shop: ShopParameters
    /// Enabled rules in rule_id (byte) order, the order in which one instant's touches fire.
    public let rules: [CompiledRule]
    /// The compiled families (their parameters and enabled rules; no customer yet).
    let families: Families
    /// Rule k's family (its place in `Families.types`) and its place among the family's rules.
    let owners: [RuleOwner]
    /// Holdout and control groups (spec 7.2), when the rule file has an `experiments` section.
    public let experiments: Experiments?
    /// Frequency caps, priorities and consent (spec 7.3), when the rule file has a `policy` section.
    public let policy: Policy?

    struct RuleOwner: Sendable {
        var family: Int
        var local: Int
    }

    /// The families' names, in registry order.
    public static let families = Families.types.map { $0.name }

    static let shopRanges: [String: ParamRange] = [
        "mean_interval_days": .days, "min_mean_interval_days": .days, "conversion_window_days": .windowDays,
    ]
    /// Parameters every rule has (a chain gives them per touch).
    static let ruleRanges: [String: ParamRange] = ["conversion_window_days": .windowDays]

    /// Every numeric parameter with its range, as a Markdown table (docs/ranges.md).
    public static var rangeTable: String {
        var rows: [(String, ParamRange)] = []
        func add(_ prefix: String, _ table: [String: ParamRange]) {
            for (k, r) in table.sorted(by: { byteLess($0.key, $1.key) }) { rows.append((prefix + k, r)) }
        }
        add("shop.", shopRanges)
        for f in Families.types { add("families.\(f.name).", f.familyRanges) }
        add("families.*.rules.*.", ruleRanges)
        for f in Families.types {
            for k in f.kinds {
                add("families.\(f.name).rules.* (kind \(k)).", f.kindRanges(k))
                for (name, r) in f.nestedRanges(k) { rows.append(("families.\(f.name).rules.*.\(name)", r)) }
            }
        }
        var out = "| parameter | accepted values | unit |\n|---|---|---|\n"
        for (name, r) in rows { out += "| `\(name)` | \(r.text) | \(r.unit) |\n" }
        return out
    }

    public static let defaultTree: JSONValue = {
        do { return try JSONParser.parse(DefaultRules.text) } catch { fatalError("default rules: \(error)") }
    }()

    public static let defaults: RuleSet = {
        do { return try RuleSet(overlay: nil) } catch { fatalError("default rules: \(error)") }
    }()

    /// Lays `overlay` (a parsed user rule file, or nil for the defaults) over the defaults.
    public init(overlay: JSONValue?) throws(RuleError) {
        var tree = RuleSet.defaultTree
        if let overlay {
            guard case .object(let top) = overlay else { throw RuleError("rule file: expected a mapping at the top") }
            for m in top where !["version", "shop", "families", "experiments", "policy"].contains(m.key) {
                throw RuleError("\(m.key): unknown top-level key (expected version, shop, families, experiments, policy)")
            }
            guard let v = overlay["version"] else { throw RuleError("version: missing (a rule file must name its version)") }
            switch v {
            case .string(let s) where !s.isEmpty: break
            case .number: break
            default: throw RuleError("version: expected a string, got \(v.described)")
            }
            tree = try RuleSet.merge(base: tree, overlay: overlay)
        }
        try self.init(tree: RuleSet.resolve(tree))
    }

    init(tree: JSONValue) throws(RuleError) {
        effective = tree
        switch tree["version"] {
        case .string(let s)?: version = s
        case .number(let d)?: version = RuleSet.plainNumber(d)
        default: throw RuleError("version: missing")
        }
        var shopParams = try RuleParams(tree["shop"] ?? .null, path: "shop", ranges: RuleSet.shopRanges)
        shop = ShopParameters(
            meanIntervalFallbackMs: max(1, try shopParams.days("mean_interval_days")),
            minMeanIntervalMs: try shopParams.days("min_mean_interval_days"),
            conversionWindowDays: try shopParams.int("conversion_window_days"),
            channel: try shopParams.string("channel"))
        try shopParams.finish()

        guard let familyTree = tree["families"], case .object = familyTree else { throw RuleError("families: expected a mapping") }
        var compiler = FamilyCompiler(tree: familyTree, shop: shop)
        var families = try Families(compiling: &compiler)
        // Rule ids are unique across families (the overlay keys them), and each family's rules are
        // in rule_id order already, so a family's rules stay in order when numbered globally.
        let order = compiler.entries.indices.sorted { RuleSet.byteLess(compiler.entries[$0].id, compiler.entries[$1].id) }
        var indices = Array(repeating: [Int32](), count: Families.types.count)
        var owners: [RuleOwner] = []
        for (global, k) in order.enumerated() {
            let e = compiler.entries[k]
            owners.append(RuleOwner(family: e.family, local: indices[e.family].count))
            indices[e.family].append(Int32(global))
        }
        for f in indices.indices {
            var number = RuleNumbering(indices: indices[f])
            var none: Void = ()
            families.visit(f, &number, &none)
        }
        rules = order.map { k in
            let e = compiler.entries[k]
            return CompiledRule(id: e.id, family: Families.types[e.family].name, touches: e.touches)
        }
        self.owners = owners
        self.families = families
        var known = Set<String>()
        if case .object(let fams) = familyTree {
            for f in fams { if case .object(let list)? = f.value["rules"] { known.formUnion(list.map(\.key)) } }
        }
        let compiled = rules
        if let v = tree["experiments"] { experiments = try Experiments(v, rules: compiled, known: known) } else { experiments = nil }
        if let v = tree["policy"] { policy = try Policy(v, rules: compiled, known: known) } else { policy = nil }
        let digest = SHA256.hash(data: Array(RuleSet.canonicalJSON(tree).utf8))
        hash = digest.prefix(8).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// Rule `id`'s compiled parameters (its family's rule type, `RFRule`, `AbandonedViewRule`, ...),
    /// or nil when no enabled rule has that id or its parameters are of another type.
    public func parameters<R>(of id: String, as type: R.Type = R.self) -> R? {
        guard let k = rules.firstIndex(where: { $0.id == id }) else { return nil }
        var find = FindParameters<R>(local: owners[k].local)
        families.read(owners[k].family, &find, ())
        return find.found
    }

    static func isValidRuleId(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 46 || c == 95 || c == 45
        }
    }

    public static func byteLess(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    public static func plainNumber(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : JSONWriter.number(d)
    }
}

/// Compiles the families of a rule set's `families` tree, one `compile()` per family, and lists
/// every enabled rule for `RuleSet` to number.
struct FamilyCompiler {
    let tree: JSONValue
    let shop: ShopParameters
    /// Enabled rules in the order compiled: their id, family and touches.
    private(set) var entries: [(id: String, family: Int, touches: [TouchSpec])] = []
    private var family = 0

    init(tree: JSONValue, shop: ShopParameters) {
        self.tree = tree
        self.shop = shop
    }

    mutating func compile<F: RuleFamily>() throws(RuleError) -> F {
        defer { family += 1 }
        let path = "families.\(F.name)"
        guard let value = tree[F.name] else { throw RuleError("\(path): missing") }
        var fp = try RuleParams(value, path: path, ranges: F.familyRanges)
        let enabled = try fp.bool("enabled")
        var compiled = try F(&fp, shop: shop)
        guard case .object(let members)? = fp.raw("rules") else {
            throw RuleError("\(path).rules: expected a mapping of rule ids")
        }
        try fp.finish()
        for rule in members {
            let rulePath = "\(path).rules.\(rule.key)"
            guard RuleSet.isValidRuleId(rule.key) else {
                throw RuleError("\(rulePath): a rule id is letters, digits, '.', '_' or '-'")
            }
            var p = try RuleParams(rule.value, path: rulePath, ranges: RuleSet.ruleRanges)
            let ruleEnabled = try p.bool("enabled")
            let kind = try p.oneOf("kind", F.kinds)
            p.ranges.merge(F.kindRanges(kind)) { common, _ in common }
            var common = TouchSpec(channel: shop.channel, windowDays: shop.conversionWindowDays)
            if F.rulesHaveChannel {
                common = TouchSpec(channel: try p.string("channel"), windowDays: try p.int("conversion_window_days"))
            }
            let (r, touches) = try compiled.compile(kind: kind, &p, common: common)
            try p.finish()
            if enabled && ruleEnabled && compiled.active {
                compiled.rules.append(Indexed(index: -1, rule: r))
                entries.append((rule.key, family, touches))
            }
        }
        return compiled
    }
}

/// Gives a family's rules their index in the rule set.
private struct RuleNumbering: FamilyVisitor {
    let indices: [Int32]
    mutating func visit<F: RuleFamily>(_ family: inout F, _ context: inout Void) {
        for k in family.rules.indices { family.rules[k].index = indices[k] }
    }
}

private struct FindParameters<R>: FamilyReader {
    let local: Int
    var found: R?
    init(local: Int) { self.local = local }
    mutating func read<F: RuleFamily>(_ family: F, _ context: Void) { found = family.rules[local].rule as? R }
}

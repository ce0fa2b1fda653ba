import Crypto

/// One enabled rule, compiled from the effective rule set.
public struct CompiledRule: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case rf(RFRule)
        case reanimation(ReanimationRule)
        case rhythm(RhythmRule)
        case prospect(ProspectRule)
        case vip(VIPRule)
        case cooled
        case rewarmed
        case abandonedView(AbandonedViewRule)
        case rise(RiseRule)
        case fall(FallRule)
    }

    public var id: String
    public var kind: Kind
    /// Channel and conversion window of touch 1 (and of every touch but reanimation's).
    public var channel: String
    public var windowDays: Int

    public var touchCount: Int {
        switch kind {
        case .rf(let r): return r.touchCount
        case .reanimation(let r): return r.touches.count
        default: return 1
        }
    }

    public func channel(touch: Int) -> String {
        if case .reanimation(let r) = kind { return r.touches[touch - 1].channel }
        return channel
    }

    public func windowDays(touch: Int) -> Int {
        if case .reanimation(let r) = kind { return r.touches[touch - 1].windowDays }
        return windowDays
    }

    /// Whether the rule's touches are anchored on `L` (identified by (rule, L, touch)).
    public var anchoredOnLastPurchase: Bool {
        switch kind {
        case .rf, .reanimation, .rhythm, .fall: return true
        default: return false
        }
    }
}

/// The effective rule set: the defaults with a user's file laid over them, validated and compiled.
public struct RuleSet: Sendable {
    public let version: String
    /// The effective rule set as a tree, every inherited default filled in.
    public let effective: JSONValue
    /// Hex of the first 8 bytes of SHA-256 over the canonical JSON of `effective`.
    public let hash: String
    public let shop: ShopParameters
    /// Enabled rules in rule_id (byte) order, the order in which one instant's touches fire.
    public let rules: [CompiledRule]
    public let atRiskFactor: Double
    public let lapsedFactor: Double
    public let coldAfterMs: Millis
    public let coviewWindowMs: Millis
    /// Neighbours per product that recommendations score with (0: all; spec 3.6).
    public let maxNeighbours: Int

    public static let families = ["rf", "reanimation", "stage", "vip", "engagement", "views", "frequency"]
    static let kinds: [String: [String]] = [
        "rf": ["rf"], "reanimation": ["chain"], "stage": ["rhythm", "prospect"], "vip": ["entered"],
        "engagement": ["cooled", "rewarmed"], "views": ["abandoned"], "frequency": ["rise", "fall"],
    ]

    // MARK: - Ranges

    static let shopRanges: [String: ParamRange] = [
        "mean_interval_days": .days, "min_mean_interval_days": .days, "conversion_window_days": .windowDays,
    ]
    /// Family-wide parameters (beside `enabled` and `rules`).
    static let familyRanges: [String: [String: ParamRange]] = [
        "reanimation": ["gross_margin": .number(0...1, "share of revenue"), "max_margin_share": .number(0...1, "share of margin")],
        "stage": ["at_risk_factor": .factor, "lapsed_factor": .factor],
        "engagement": ["cold_after_days": .days],
        "views": [
            "coview_window_hours": .above(0, upTo: ParamRange.maxSpanDays * 24, "hours"),
            "max_neighbours": .whole(0...1_000_000, "products (0: all)"),
        ],
    ]
    /// Parameters every rule has (a chain gives them per touch).
    static let ruleRanges: [String: ParamRange] = ["conversion_window_days": .windowDays]
    /// Each rule kind's own parameters.
    static let kindRanges: [String: [String: ParamRange]] = [
        "rf": RFRule.ranges, "chain": ReanimationRule.ranges, "rhythm": RhythmRule.ranges,
        "prospect": ProspectRule.ranges, "entered": VIPRule.ranges, "cooled": [:], "rewarmed": [:],
        "abandoned": AbandonedViewRule.ranges, "rise": RiseRule.ranges, "fall": FallRule.ranges,
    ]

    /// Every numeric parameter with its range, as a Markdown table (docs/rule-ranges.md).
    public static var rangeTable: String {
        var rows: [(String, ParamRange)] = []
        func add(_ prefix: String, _ table: [String: ParamRange]) {
            for (k, r) in table.sorted(by: { byteLess($0.key, $1.key) }) { rows.append((prefix + k, r)) }
        }
        add("shop.", shopRanges)
        for f in families { add("families.\(f).", familyRanges[f] ?? [:]) }
        add("families.*.rules.*.", ruleRanges)
        for f in families {
            for k in kinds[f] ?? [] {
                add("families.\(f).rules.* (kind \(k)).", kindRanges[k] ?? [:])
                if k == "chain" {
                    rows.append(("families.reanimation.rules.*.touches", .whole(1...ReanimationRule.maxTouches, "touches")))
                    add("families.reanimation.rules.*.touches[*].", ReanimationRule.touchRanges)
                }
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
            for m in top where !["version", "shop", "families"].contains(m.key) {
                throw RuleError("\(m.key): unknown top-level key (expected version, shop, families)")
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

        var rules: [CompiledRule] = []
        var atRisk = 1.1, lapsed = 2.0, coldAfter = 30 * millisPerDay, coview = 24 * millisPerHour
        var neighbours = 0
        guard case .object(let families)? = tree["families"] else { throw RuleError("families: expected a mapping") }
        for family in families {
            var fp = try RuleParams(family.value, path: "families.\(family.key)", ranges: RuleSet.familyRanges[family.key] ?? [:])
            let enabled = try fp.bool("enabled")
            var grossMargin = 0.0, share = 0.0
            switch family.key {
            case "reanimation":
                grossMargin = try fp.number("gross_margin")
                share = try fp.number("max_margin_share")
            case "stage":
                atRisk = try fp.number("at_risk_factor")
                lapsed = try fp.number("lapsed_factor")
            case "engagement":
                coldAfter = try fp.days("cold_after_days")
            case "views":
                coview = RuleParams.millis(try fp.number("coview_window_hours"), per: millisPerHour)
                neighbours = try fp.int("max_neighbours")
            default: break
            }
            guard case .object(let members)? = fp.raw("rules") else {
                throw RuleError("families.\(family.key).rules: expected a mapping of rule ids")
            }
            try fp.finish()
            for rule in members {
                let path = "families.\(family.key).rules.\(rule.key)"
                guard RuleSet.isValidRuleId(rule.key) else {
                    throw RuleError("\(path): a rule id is letters, digits, '.', '_' or '-'")
                }
                var p = try RuleParams(rule.value, path: path, ranges: RuleSet.ruleRanges)
                let ruleEnabled = try p.bool("enabled")
                let kindName = try p.oneOf("kind", RuleSet.kinds[family.key] ?? [])
                p.ranges.merge(RuleSet.kindRanges[kindName] ?? [:]) { common, _ in common }
                var channel = shop.channel, window = shop.conversionWindowDays
                if kindName != "chain" {
                    channel = try p.string("channel")
                    window = try p.int("conversion_window_days")
                }
                let kind: CompiledRule.Kind
                switch kindName {
                case "rf": kind = .rf(try RFRule(&p))
                case "chain": kind = .reanimation(try ReanimationRule(&p, grossMargin: grossMargin, maxMarginShare: share))
                case "rhythm": kind = .rhythm(try RhythmRule(&p))
                case "prospect": kind = .prospect(try ProspectRule(&p))
                case "entered": kind = .vip(try VIPRule(&p))
                case "cooled": kind = .cooled
                case "rewarmed": kind = .rewarmed
                case "abandoned": kind = .abandonedView(try AbandonedViewRule(&p))
                case "rise": kind = .rise(try RiseRule(&p))
                default: kind = .fall(try FallRule(&p))
                }
                if case .reanimation(let chain) = kind {
                    channel = chain.touches[0].channel
                    window = chain.touches[0].windowDays
                }
                try p.finish()
                if enabled && ruleEnabled {
                    rules.append(CompiledRule(id: rule.key, kind: kind, channel: channel, windowDays: window))
                }
            }
        }
        rules.sort { RuleSet.byteLess($0.id, $1.id) }
        self.rules = rules
        atRiskFactor = atRisk
        lapsedFactor = lapsed
        coldAfterMs = coldAfter
        coviewWindowMs = coview
        maxNeighbours = neighbours
        let digest = SHA256.hash(data: Array(RuleSet.canonicalJSON(tree).utf8))
        hash = digest.prefix(8).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
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

    // MARK: - Overlay

    static func merge(base: JSONValue, overlay: JSONValue) throws(RuleError) -> JSONValue {
        guard case .object(var out) = base, case .object(let over) = overlay else { return overlay }
        for m in over {
            if m.key == "families" {
                guard case .object(let fams) = m.value else { throw RuleError("families: expected a mapping") }
                guard let idx = out.firstIndex(where: { $0.key == "families" }), case .object(var baseFams) = out[idx].value else {
                    continue
                }
                for f in fams {
                    guard let fi = baseFams.firstIndex(where: { $0.key == f.key }) else {
                        throw RuleError("families.\(f.key): unknown family (expected one of \(families.joined(separator: ", ")))")
                    }
                    baseFams[fi].value = try mergeFamily(name: f.key, base: baseFams[fi].value, overlay: f.value)
                }
                out[idx].value = .object(baseFams)
            } else {
                out = upsert(out, m.key, try mergeValue(out.first { $0.key == m.key }?.value, m.value))
            }
        }
        return .object(out)
    }

    static func mergeValue(_ base: JSONValue?, _ overlay: JSONValue) throws(RuleError) -> JSONValue {
        if let base, case .object = base, case .object = overlay { return try merge(base: base, overlay: overlay) }
        return overlay
    }

    static func upsert(_ members: [JSONMember], _ key: String, _ value: JSONValue) -> [JSONMember] {
        var out = members
        if let i = out.firstIndex(where: { $0.key == key }) { out[i].value = value } else { out.append(JSONMember(key, value)) }
        return out
    }

    static func mergeFamily(name: String, base: JSONValue, overlay: JSONValue) throws(RuleError) -> JSONValue {
        guard case .object(var fam) = base, case .object(let over) = overlay else {
            throw RuleError("families.\(name): expected a mapping")
        }
        for m in over {
            guard m.key == "rules" else {
                fam = upsert(fam, m.key, try mergeValue(fam.first { $0.key == m.key }?.value, m.value))
                continue
            }
            guard case .object(let newRules) = m.value else { throw RuleError("families.\(name).rules: expected a mapping") }
            guard let ri = fam.firstIndex(where: { $0.key == "rules" }), case .object(var rules) = fam[ri].value else { continue }
            // Rule ids to their slots: a file may add many thousands of rules.
            var slot: [String: Int] = [:]
            for (k, r) in rules.enumerated() { slot[r.key] = k }
            for r in newRules {
                let path = "families.\(name).rules.\(r.key)"
                guard case .object(var body) = r.value else { throw RuleError("\(path): expected a mapping") }
                if let existing = slot[r.key] {
                    if body.contains(where: { $0.key == "like" }) {
                        throw RuleError("\(path).like: only a new rule can be 'like' another")
                    }
                    rules[existing].value = try merge(base: rules[existing].value, overlay: .object(body))
                    continue
                }
                var start = JSONValue.object([])
                if let likeIdx = body.firstIndex(where: { $0.key == "like" }) {
                    guard case .string(let like) = body[likeIdx].value,
                        let model = slot[like].map({ rules[$0].value })
                    else {
                        throw RuleError("\(path).like: expected the id of a rule in the \(name) family")
                    }
                    start = model
                    body.remove(at: likeIdx)
                }
                slot[r.key] = rules.count
                rules.append(JSONMember(r.key, try merge(base: start, overlay: .object(body))))
            }
            fam[ri].value = .object(rules)
        }
        return .object(fam)
    }

    /// Fills every inherited default into the tree: `enabled`, a single-kind family's `kind`,
    /// and the shop's channel and conversion window for rules that name none.
    static func resolve(_ tree: JSONValue) throws(RuleError) -> JSONValue {
        guard case .object(var top) = tree,
            let fi = top.firstIndex(where: { $0.key == "families" }), case .object(var fams) = top[fi].value,
            case .object(let shop)? = tree["shop"]
        else { throw RuleError("rule set: expected shop and families") }
        let channel = shop.first { $0.key == "channel" }?.value ?? .string("email")
        let window = shop.first { $0.key == "conversion_window_days" }?.value ?? .number(7)
        for k in fams.indices {
            guard case .object(var fam) = fams[k].value else { continue }
            if !fam.contains(where: { $0.key == "enabled" }) { fam.append(JSONMember("enabled", .bool(true))) }
            if let ri = fam.firstIndex(where: { $0.key == "rules" }), case .object(var rules) = fam[ri].value {
                for r in rules.indices {
                    guard case .object(var body) = rules[r].value else { continue }
                    func fill(_ key: String, _ v: JSONValue) {
                        if !body.contains(where: { $0.key == key }) { body.append(JSONMember(key, v)) }
                    }
                    fill("enabled", .bool(true))
                    if let kinds = kinds[fams[k].key], kinds.count == 1 { fill("kind", .string(kinds[0])) }
                    if fams[k].key != "reanimation" {
                        fill("channel", channel)
                        fill("conversion_window_days", window)
                    }
                    rules[r].value = .object(body)
                }
                // In rule_id order already, the sorts of the hash, the printout and the compiled
                // rules are linear passes (a file may hold many thousands of rules).
                rules.sort { byteLess($0.key, $1.key) }
                fam[ri].value = .object(rules)
            }
            fams[k].value = .object(fam)
        }
        top[fi].value = .object(fams)
        return .object(top)
    }

    // MARK: - Canonical forms

    /// `members` sorted, without sorting when they already are (a family's rules are kept in
    /// order, and a file may hold many thousands).
    static func inOrder(_ members: [JSONMember], by less: (JSONMember, JSONMember) -> Bool) -> [JSONMember] {
        for k in members.indices.dropFirst() where less(members[k], members[k - 1]) { return members.sorted(by: less) }
        return members
    }

    /// JSON with keys sorted by bytes and whole numbers written as integers: the input of `hash`.
    public static func canonicalJSON(_ v: JSONValue) -> String {
        var out = ""
        func write(_ v: JSONValue) {
            switch v {
            case .null: out += "null"
            case .bool(let b): out += b ? "true" : "false"
            case .number(let d): out += plainNumber(d)
            case .string(let s): out += JSONWriter.quoted(s)
            case .array(let items):
                out += "["
                for (i, item) in items.enumerated() {
                    if i > 0 { out += "," }
                    write(item)
                }
                out += "]"
            case .object(let members):
                out += "{"
                for (i, m) in inOrder(members, by: { byteLess($0.key, $1.key) }).enumerated() {
                    if i > 0 { out += "," }
                    out += JSONWriter.quoted(m.key) + ":"
                    write(m.value)
                }
                out += "}"
            }
        }
        write(v)
        return out
    }

    /// The tree as block YAML (keys sorted, strings double-quoted), as `rules check` prints it.
    public static func yaml(_ v: JSONValue) -> String {
        var out = ""
        func scalar(_ v: JSONValue) -> String {
            switch v {
            case .null: return "null"
            case .bool(let b): return b ? "true" : "false"
            case .number(let d): return plainNumber(d)
            case .string(let s): return JSONWriter.quoted(s)
            case .array(let a) where a.isEmpty: return "[]"
            case .object(let o) where o.isEmpty: return "{}"
            default: return ""
            }
        }
        func isScalar(_ v: JSONValue) -> Bool { !scalar(v).isEmpty }
        func write(_ v: JSONValue, indent: String) {
            switch v {
            case .object(let members):
                // Top-level keys read best as version, shop, families; the rest by bytes.
                let first = ["version", "shop", "families"]
                let ordered = inOrder(members) { a, b in
                    let ia = first.firstIndex(of: a.key) ?? first.count, ib = first.firstIndex(of: b.key) ?? first.count
                    return ia != ib ? ia < ib : byteLess(a.key, b.key)
                }
                for m in ordered {
                    let key = isValidRuleId(m.key) && !m.key.utf8.contains(46) ? m.key : JSONWriter.quoted(m.key)
                    if isScalar(m.value) {
                        out += "\(indent)\(key): \(scalar(m.value))\n"
                    } else {
                        out += "\(indent)\(key):\n"
                        write(m.value, indent: indent + "  ")
                    }
                }
            case .array(let items):
                for item in items {
                    if isScalar(item) {
                        out += "\(indent)- \(scalar(item))\n"
                    } else {
                        var sub = ""
                        swap(&sub, &out)
                        write(item, indent: indent + "  ")
                        swap(&sub, &out)
                        // Put the first line of the item on the dash line.
                        let body = sub.dropFirst(indent.count + 2)
                        out += "\(indent)- " + body
                    }
                }
            default:
                out += "\(indent)\(scalar(v))\n"
            }
        }
        write(v, indent: "")
        return out
    }
}

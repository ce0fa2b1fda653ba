/// Laying a user's rule file over the defaults (spec section 3: a file sets parameters, disables
/// families or rules, and adds rules by id or `like` another), and filling in inherited defaults.
extension RuleSet {
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
                    let family = Families.types.first { $0.name == fams[k].key }
                    if let kinds = family?.kinds, kinds.count == 1 { fill("kind", .string(kinds[0])) }
                    if family?.rulesHaveChannel ?? true {
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
}

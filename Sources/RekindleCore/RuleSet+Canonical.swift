/// The rule set's canonical forms: the JSON its version hash is taken over, and the YAML that
/// `rules check` prints.
extension RuleSet {
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

/// A rule file that cannot be used, with the path of the offending key.
public struct RuleError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Reads one object of a rule file, checking types and ranges, and rejecting keys it was not
/// asked for (a misspelt parameter must not be silently ignored).
struct RuleParams {
    let path: String
    let members: [JSONMember]
    private(set) var used: Set<String> = []

    init(_ value: JSONValue, path: String) throws(RuleError) {
        guard case .object(let m) = value else { throw RuleError("\(path): expected a mapping, got \(value.described)") }
        self.members = m
        self.path = path
    }

    mutating func raw(_ name: String) -> JSONValue? {
        used.insert(name)
        return JSONValue.object(members)[name]
    }

    private func fail(_ name: String, _ expected: String, _ v: JSONValue) -> RuleError {
        RuleError("\(path).\(name): expected \(expected), got \(v.described)")
    }

    mutating func number(_ name: String, min: Double = 0) throws(RuleError) -> Double {
        guard let v = raw(name) else { throw RuleError("\(path): missing \(name)") }
        guard case .number(let d) = v, d >= min else { throw fail(name, "a number >= \(RuleSet.plainNumber(min))", v) }
        return d
    }

    mutating func positive(_ name: String) throws(RuleError) -> Double {
        guard let v = raw(name) else { throw RuleError("\(path): missing \(name)") }
        guard case .number(let d) = v, d > 0 else { throw fail(name, "a number > 0", v) }
        return d
    }

    mutating func int(_ name: String, min: Int = 0) throws(RuleError) -> Int {
        guard let v = raw(name) else { throw RuleError("\(path): missing \(name)") }
        guard case .number(let d) = v, d == d.rounded(), d >= Double(min), d < 1e12 else {
            throw fail(name, "a whole number >= \(min)", v)
        }
        return Int(d)
    }

    mutating func optionalInt(_ name: String, min: Int = 0) throws(RuleError) -> Int? {
        guard let v = raw(name), v != .null else { return nil }
        used.remove(name)
        return try int(name, min: min)
    }

    mutating func optionalNumber(_ name: String, min: Double = 0) throws(RuleError) -> Double? {
        guard let v = raw(name), v != .null else { return nil }
        return try number(name, min: min)
    }

    mutating func bool(_ name: String) throws(RuleError) -> Bool {
        guard let v = raw(name) else { throw RuleError("\(path): missing \(name)") }
        guard case .bool(let b) = v else { throw fail(name, "true or false", v) }
        return b
    }

    mutating func string(_ name: String) throws(RuleError) -> String {
        guard let v = raw(name) else { throw RuleError("\(path): missing \(name)") }
        guard case .string(let s) = v, !s.isEmpty else { throw fail(name, "a non-empty string", v) }
        return s
    }

    mutating func oneOf(_ name: String, _ allowed: [String]) throws(RuleError) -> String {
        let s = try string(name)
        guard allowed.contains(s) else {
            throw RuleError("\(path).\(name): expected one of \(allowed.joined(separator: ", ")), got \(JSONWriter.quoted(s))")
        }
        return s
    }

    mutating func days(_ name: String) throws(RuleError) -> Millis { try RuleParams.millis(number(name), per: millisPerDay) }

    static func millis(_ amount: Double, per unit: Millis) -> Millis { Millis((amount * Double(unit)).rounded(.down)) }

    func finish() throws(RuleError) {
        for m in members where !used.contains(m.key) {
            throw RuleError("\(path).\(m.key): unknown parameter")
        }
    }
}

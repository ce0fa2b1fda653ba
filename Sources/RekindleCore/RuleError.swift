/// A rule file that cannot be used, with the path of the offending key.
public struct RuleError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The values a numeric rule parameter accepts. Each family states its parameters' ranges once,
/// in a table beside the code that reads them; `RuleSet.rangeTable` documents them all.
/// Every span is at most 100 years, so with event times in years 0000-9999 no due time
/// leaves `Millis`.
public struct ParamRange: Sendable, Equatable {
    public var min: Double
    public var max: Double
    /// The lower bound itself is refused (a factor must be more than 0).
    public var aboveMin: Bool
    public var whole: Bool
    /// What the number counts, for the documentation ("days", "minutes", "purchases").
    public var unit: String

    public static func whole(_ r: ClosedRange<Int>, _ unit: String) -> ParamRange {
        ParamRange(min: Double(r.lowerBound), max: Double(r.upperBound), aboveMin: false, whole: true, unit: unit)
    }
    public static func number(_ r: ClosedRange<Double>, _ unit: String) -> ParamRange {
        ParamRange(min: r.lowerBound, max: r.upperBound, aboveMin: false, whole: false, unit: unit)
    }
    /// `(min, max]`: more than `min`, at most `max`.
    public static func above(_ min: Double, upTo max: Double, _ unit: String) -> ParamRange {
        ParamRange(min: min, max: max, aboveMin: true, whole: false, unit: unit)
    }

    /// The longest span any rule parameter may give, in days: 100 years.
    public static let maxSpanDays = 36_500.0
    public static let days = number(0...maxSpanDays, "days")
    public static let purchases = whole(1...1_000_000, "purchases")
    public static let windowDays = whole(0...3_650, "days")
    public static let factor = above(0, upTo: 100, "x mean interval")
    public static let recommendations = whole(0...100, "products")

    public func contains(_ d: Double) -> Bool {
        (aboveMin ? d > min : d >= min) && d <= max && (!whole || d == d.rounded())
    }

    /// "a whole number from 1 to 1000000", "a number > 0 and <= 100".
    public var text: String {
        let lo = RuleSet.plainNumber(min), hi = RuleSet.plainNumber(max)
        let kind = whole ? "a whole number" : "a number"
        return aboveMin ? "\(kind) > \(lo) and <= \(hi)" : "\(kind) from \(lo) to \(hi)"
    }
}

/// Reads one object of a rule file, checking types and ranges, and rejecting keys it was not
/// asked for (a misspelt parameter must not be silently ignored).
struct RuleParams {
    let path: String
    let members: [JSONMember]
    /// The ranges of the numeric parameters this object may hold.
    var ranges: [String: ParamRange]
    private(set) var used: Set<String> = []

    init(_ value: JSONValue, path: String, ranges: [String: ParamRange] = [:]) throws(RuleError) {
        guard case .object(let m) = value else { throw RuleError("\(path): expected a mapping, got \(value.described)") }
        self.members = m
        self.path = path
        self.ranges = ranges
    }

    mutating func raw(_ name: String) -> JSONValue? {
        used.insert(name)
        return JSONValue.object(members)[name]
    }

    private func fail(_ name: String, _ expected: String, _ v: JSONValue) -> RuleError {
        RuleError("\(path).\(name): expected \(expected), got \(v.described)")
    }

    /// A number within the parameter's range (from `ranges`).
    mutating func number(_ name: String) throws(RuleError) -> Double {
        guard let range = ranges[name] else { preconditionFailure("\(path).\(name): no range stated") }
        guard let v = raw(name) else { throw RuleError("\(path): missing \(name)") }
        guard case .number(let d) = v, range.contains(d) else { throw fail(name, range.text, v) }
        return d
    }

    mutating func int(_ name: String) throws(RuleError) -> Int {
        guard ranges[name]?.whole == true else { preconditionFailure("\(path).\(name): no whole-number range stated") }
        return Int(try number(name))
    }

    mutating func optionalInt(_ name: String) throws(RuleError) -> Int? {
        guard let v = raw(name), v != .null else { return nil }
        return try int(name)
    }

    mutating func optionalNumber(_ name: String) throws(RuleError) -> Double? {
        guard let v = raw(name), v != .null else { return nil }
        return try number(name)
    }

    mutating func bool(_ name: String) throws(RuleError) -> Bool {
        guard let v = raw(name) else { throw RuleError("\(path): missing \(name)") }
        guard case .bool(let b) = v else { throw fail(name, "true or false", v) }
        return b
    }

    mutating func optionalBool(_ name: String) throws(RuleError) -> Bool? {
        guard let v = raw(name), v != .null else { return nil }
        guard case .bool(let b) = v else { throw fail(name, "true or false", v) }
        return b
    }

    /// Reads the mapping `name` of rule ids (each one of `known`) to their own parameters, one
    /// `body` call each with its `RuleParams` (finished after it).
    mutating func eachRule(
        _ name: String, known: Set<String>, ranges: [String: ParamRange],
        _ body: (String, inout RuleParams) throws(RuleError) -> Void
    ) throws(RuleError) {
        guard let list = raw(name), list != .null else { return }
        guard case .object(let members) = list else {
            throw RuleError("\(path).\(name): expected a mapping of rule ids, got \(list.described)")
        }
        for m in members {
            let rulePath = "\(path).\(name).\(m.key)"
            guard known.contains(m.key) else { throw RuleError("\(rulePath): no rule has this id") }
            var r = try RuleParams(m.value, path: rulePath, ranges: ranges)
            try body(m.key, &r)
            try r.finish()
        }
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

    static func millis(_ amount: Double, per unit: Millis) -> Millis { Millis.flooring(amount * Double(unit)) }

    func finish() throws(RuleError) {
        for m in members where !used.contains(m.key) {
            throw RuleError("\(path).\(m.key): unknown parameter")
        }
    }
}

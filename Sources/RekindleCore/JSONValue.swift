/// A parsed JSON value. Objects keep their members in document order; the parser rejects
/// repeated names, so a lookup is unambiguous.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])

    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        var found: JSONValue?
        for m in members where m.key == key { found = m.value }
        return found
    }

    /// A short description of the value's kind and content, for error messages.
    public var described: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let d): return "number \(d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : JSONWriter.number(d))"
        case .string(let s):
            let cut = s.count > 40 ? String(s.prefix(40)) + "..." : s
            return "string \(JSONWriter.quoted(cut))"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

public struct JSONMember: Sendable, Equatable {
    public var key: String
    public var value: JSONValue
    public init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}

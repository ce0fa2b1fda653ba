/// Byte-exact JSON output. Every output message is built here so that the same values always
/// give the same bytes (no dictionary order, no locale, shortest round-trip doubles).
public struct JSONWriter {
    public var bytes: [UInt8] = []
    /// Open containers, and whether each already has a member (so the next one needs a comma):
    /// a bit each for the first 64 levels (no allocation per message), an array beyond.
    private var depth = 0
    private var hasMember: UInt64 = 0
    private var deeper: [Bool] = []

    public init() { bytes.reserveCapacity(512) }

    /// A writer that appends to `bytes` as they are (e.g. a shared output buffer).
    public init(appendingTo bytes: [UInt8]) { self.bytes = bytes }

    private func member() -> Bool {
        depth <= 64 ? hasMember & (1 << UInt64(depth - 1)) != 0 : deeper[depth - 65]
    }

    private mutating func setMember(_ v: Bool) {
        if depth <= 64 {
            let bit: UInt64 = 1 << UInt64(depth - 1)
            hasMember = v ? hasMember | bit : hasMember & ~bit
        } else {
            deeper[depth - 65] = v
        }
    }

    private mutating func open() {
        depth += 1
        if depth > 64 { deeper.append(false) } else { setMember(false) }
    }

    private mutating func close() {
        if depth > 64 { deeper.removeLast() }
        depth -= 1
    }

    public static func number(_ d: Double) -> String {
        // Swift's description is the shortest representation that round-trips; it is valid JSON
        // for every finite value (e.g. "1800.0", "0.30000000000000004", "1e+21").
        d.isFinite ? d.description : "null"
    }

    public static func quoted(_ s: String) -> String {
        var w = JSONWriter()
        w.appendString(s)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    mutating func separate() {
        guard depth > 0 else { return }
        if member() { bytes.append(0x2c) }
        setMember(true)
    }

    public mutating func beginObject() { separate(); bytes.append(0x7b); open() }
    public mutating func endObject() { bytes.append(0x7d); close() }
    public mutating func beginArray() { separate(); bytes.append(0x5b); open() }
    public mutating func endArray() { bytes.append(0x5d); close() }

    public mutating func key(_ k: StaticString) {
        separate()
        bytes.append(0x22)
        bytes.append(contentsOf: UnsafeBufferPointer(start: k.utf8Start, count: k.utf8CodeUnitCount))
        bytes.append(0x22)
        bytes.append(0x3a)
        setMember(false)
    }

    public mutating func key(_ k: String) {
        separate()
        appendString(k)
        bytes.append(0x3a)
        setMember(false)
    }

    public mutating func string(_ s: String) { separate(); appendString(s) }
    public mutating func int(_ v: Int64) { separate(); bytes.appendJSON(upTo: JSONCursor.intBound) { $0.int(v) } }
    public mutating func int(_ v: Int) { int(Int64(v)) }
    public mutating func double(_ d: Double) { separate(); bytes.appendJSON(upTo: JSONCursor.doubleBound) { $0.double(d) } }
    public mutating func bool(_ b: Bool) { separate(); bytes.append(contentsOf: (b ? "true" : "false").utf8) }
    public mutating func null() { separate(); bytes.append(contentsOf: "null".utf8) }
    public mutating func time(_ ms: Millis) { separate(); bytes.appendJSON(upTo: JSONCursor.timeBound) { $0.time(ms) } }

    /// A value written through a cursor with room for `bound` bytes (a whole trigger at once).
    mutating func raw(upTo bound: Int, _ body: (inout JSONCursor) -> Void) {
        separate()
        bytes.appendJSON(upTo: bound, body)
    }

    public mutating func value(_ v: JSONValue) {
        switch v {
        case .null: null()
        case .bool(let b): bool(b)
        case .number(let d): double(d)
        case .string(let s): string(s)
        case .array(let items):
            beginArray()
            for item in items { value(item) }
            endArray()
        case .object(let members):
            beginObject()
            for m in members {
                key(m.key)
                value(m.value)
            }
            endObject()
        }
    }

    mutating func appendString(_ s: String) {
        bytes.appendJSON(upTo: JSONCursor.bound(s)) { $0.string(s) }
    }
}

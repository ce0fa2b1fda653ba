/// A strict RFC 8259 JSON parser over UTF-8 bytes. Written by hand so that every rejection
/// has a precise, one-line reason for the dead-letter output, and so that bad input (invalid
/// UTF-8, lone surrogates, deep nesting) can never crash the process.
public struct JSONParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public var description: String { "not valid JSON: \(message) at byte \(offset)" }
    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }
}

public enum JSONParser {
    public static let maxDepth = 256

    static let powersOfTen: [Double] = (0...22).map { k in (0..<k).reduce(1.0) { a, _ in a * 10 } }

    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        var copy = text
        let r: Result<JSONValue, JSONParseError> = copy.withUTF8 { buf in
            do throws(JSONParseError) { return .success(try parse(buf)) } catch { return .failure(error) }
        }
        return try r.get()
    }

    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> JSONValue {
        var p = Cursor(bytes: bytes)
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == bytes.count else { throw p.error("unexpected \(p.peekDescription) after the value") }
        return v
    }

    /// A String from UTF-8 bytes, or nil if they are not valid UTF-8. ASCII (almost every id and
    /// time) skips the generic validating initializer, which profiles showed costly.
    static func utf8String(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var ascii = true
        for b in bytes where b >= 0x80 {
            ascii = false
            break
        }
        if ascii { return String(decoding: bytes, as: UTF8.self) }
        return String(validating: bytes, as: UTF8.self)
    }

    struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0

        func error(_ message: String) -> JSONParseError { JSONParseError(message: message, offset: i) }

        var peekDescription: String {
            guard i < bytes.count else { return "end of input" }
            let c = bytes[i]
            if c >= 0x20 && c < 0x7f { return "'\(Character(Unicode.Scalar(c)))'" }
            return "byte 0x" + String(c, radix: 16)
        }

        /// Inlined for the common case, a value or a name right there (compact JSON lines).
        @inline(__always)
        mutating func skipSpace() {
            guard i < bytes.count, bytes[i] <= 0x20 else { return }
            skipSpaceRun()
        }

        mutating func skipSpaceRun() {
            while i < bytes.count {
                switch bytes[i] {
                case 0x20, 0x09, 0x0a, 0x0d: i += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
            guard depth < JSONParser.maxDepth else { throw error("nesting deeper than \(JSONParser.maxDepth)") }
            guard i < bytes.count else { throw error("unexpected end of input") }
            switch bytes[i] {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw error("unexpected \(peekDescription)")
            }
        }

        mutating func literal(_ word: StaticString) throws(JSONParseError) {
            let n = word.utf8CodeUnitCount
            guard i + n <= bytes.count else { throw error("unexpected \(peekDescription)") }
            let w = word.utf8Start
            for k in 0..<n where bytes[i + k] != w[k] { throw error("unexpected \(peekDescription)") }
            i += n
        }

        mutating func object(depth: Int) throws(JSONParseError) -> JSONValue {
            i += 1
            var members: [JSONMember] = []
            skipSpace()
            if i < bytes.count && bytes[i] == UInt8(ascii: "}") {
                i += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else {
                    throw error("expected a member name, got \(peekDescription)")
                }
                let keyStart = i
                let key = try string()
                // A repeated name is ambiguous (which event_id?): reject it rather than guess.
                if members.contains(where: { $0.key == key }) {
                    i = keyStart
                    throw error("duplicate member name \(JSONWriter.quoted(key))")
                }
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else {
                    throw error("expected ':', got \(peekDescription)")
                }
                i += 1
                skipSpace()
                let v = try value(depth: depth + 1)
                members.append(JSONMember(key, v))
                skipSpace()
                guard i < bytes.count else { throw error("unexpected end of input in an object") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                throw error("expected ',' or '}', got \(peekDescription)")
            }
        }

        mutating func array(depth: Int) throws(JSONParseError) -> JSONValue {
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < bytes.count && bytes[i] == UInt8(ascii: "]") {
                i += 1
                return .array(items)
            }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw error("unexpected end of input in an array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw error("expected ',' or ']', got \(peekDescription)")
            }
        }

        mutating func hex4() throws(JSONParseError) -> UInt32 {
            guard i + 4 <= bytes.count else { throw error("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[i]
                let d: UInt32
                switch c {
                case 48...57: d = UInt32(c - 48)
                case 65...70: d = UInt32(c - 55)
                case 97...102: d = UInt32(c - 87)
                default: throw error("invalid hex digit in \\u escape")
                }
                v = v << 4 | d
                i += 1
            }
            return v
        }

        mutating func string() throws(JSONParseError) -> String {
            i += 1  // opening quote
            let start = i
            // Fast path: no escapes.
            while i < bytes.count {
                let c = bytes[i]
                if c == UInt8(ascii: "\"") {
                    let slice = UnsafeBufferPointer(rebasing: bytes[start..<i])
                    i += 1
                    guard let s = JSONParser.utf8String(slice) else {
                        i = start
                        throw error("string is not valid UTF-8")
                    }
                    return s
                }
                if c == UInt8(ascii: "\\") { break }
                if c < 0x20 { throw error("unescaped control character in a string") }
                i += 1
            }
            var out = [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<i]))
            while true {
                guard i < bytes.count else { throw error("unterminated string") }
                let c = bytes[i]
                if c == UInt8(ascii: "\"") {
                    i += 1
                    guard let s = out.withUnsafeBufferPointer({ JSONParser.utf8String($0) }) else {
                        throw error("string is not valid UTF-8")
                    }
                    return s
                }
                if c < 0x20 { throw error("unescaped control character in a string") }
                if c != UInt8(ascii: "\\") {
                    out.append(c)
                    i += 1
                    continue
                }
                i += 1
                guard i < bytes.count else { throw error("unterminated escape") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5c)
                case UInt8(ascii: "/"): out.append(0x2f)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0c)
                case UInt8(ascii: "n"): out.append(0x0a)
                case UInt8(ascii: "r"): out.append(0x0d)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if scalar >= 0xD800 && scalar <= 0xDBFF {
                        guard i + 2 <= bytes.count, bytes[i] == UInt8(ascii: "\\"),
                            bytes[i + 1] == UInt8(ascii: "u")
                        else { throw error("lone surrogate in \\u escape") }
                        i += 2
                        let low = try hex4()
                        guard low >= 0xDC00 && low <= 0xDFFF else { throw error("lone surrogate in \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                        throw error("lone surrogate in \\u escape")
                    }
                    out.append(contentsOf: Unicode.UTF8.encode(Unicode.Scalar(scalar)!)!)
                default:
                    i -= 1
                    throw error("invalid escape \\\(peekDescription)")
                }
            }
        }

        mutating func number() throws(JSONParseError) -> Double {
            let start = i
            let negative = bytes[i] == UInt8(ascii: "-")
            if negative { i += 1 }
            func isDigit(_ k: Int) -> Bool { k < bytes.count && bytes[k] >= 48 && bytes[k] <= 57 }
            // The digits as an integer and how many follow the point, for the exact conversion below.
            var mantissa: UInt64 = 0, digits = 0, fraction = 0
            guard isDigit(i) else { throw error("expected a digit") }
            if bytes[i] == UInt8(ascii: "0") {
                i += 1
                if isDigit(i) { throw error("leading zero in a number") }
            } else {
                while isDigit(i) {
                    if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(bytes[i] - 48) }
                    digits += 1
                    i += 1
                }
            }
            if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
                i += 1
                guard isDigit(i) else { throw error("expected a digit after '.'") }
                while isDigit(i) {
                    if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(bytes[i] - 48) }
                    digits += 1
                    fraction += 1
                    i += 1
                }
            }
            var exponent = false
            if i < bytes.count && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
                exponent = true
                i += 1
                if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
                guard isDigit(i) else { throw error("expected a digit in the exponent") }
                while isDigit(i) { i += 1 }
            }
            // Clinger's fast path: a mantissa below 2^53 and a power of ten up to 1e22 are both
            // exact doubles, so one IEEE division is correctly rounded, the same double as strtod
            // gives (checked against `Double(String)` by the fuzz test). Anything else: strtod.
            if !exponent && digits <= 15 && fraction <= 22 {
                let d = Double(mantissa) / JSONParser.powersOfTen[fraction]
                return negative ? -d : d
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            guard let d = Double(text), d.isFinite else {
                i = start
                throw error("number out of range")
            }
            return d
        }
    }
}

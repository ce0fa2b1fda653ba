/// Builds one JSON object on one line, by hand: fast, and byte-for-byte the same on every platform.
/// Commas are placed by counting members of the innermost open value, which is enough for the
/// generator's shapes (an object holding one array of flat objects).
struct JSONLineWriter {
    private(set) var bytes: [UInt8] = []
    private var fieldCount = 0

    init() { bytes.reserveCapacity(512) }

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        fieldCount = 0
    }

    mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        fieldCount = 0
    }

    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        fieldCount = 1
    }

    mutating func beginArray(_ key: String) {
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        fieldCount = 0
    }

    mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        fieldCount = 1
    }

    /// Starts an object as the next element of an array.
    mutating func beginElement() {
        if fieldCount > 0 { bytes.append(UInt8(ascii: ",")) }
        beginObject()
    }

    mutating func key(_ name: String) {
        if fieldCount > 0 { bytes.append(UInt8(ascii: ",")) }
        fieldCount += 1
        appendQuoted(name)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func string(_ name: String, _ value: String) {
        key(name)
        appendQuoted(value)
    }

    /// A string made of a prefix letter and a number: `"c42"`, `"p7"`.
    mutating func id(_ name: String, _ prefix: UInt8, _ number: UInt32) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(prefix)
        appendDecimal(UInt64(number))
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func integer(_ name: String, _ value: Int64) {
        key(name)
        appendInteger(value)
    }

    /// Money in kopecks as a JSON number with one or two decimals: `990.0`, `1234.5`, `12.34`.
    mutating func money(_ name: String, _ kopecks: Int64) {
        key(name)
        appendMoney(kopecks)
    }

    /// A value written by the caller, after the key.
    mutating func raw(_ name: String, _ value: String) {
        key(name)
        bytes.append(contentsOf: value.utf8)
    }

    mutating func appendMoney(_ kopecks: Int64) {
        if kopecks < 0 { bytes.append(UInt8(ascii: "-")) }
        let magnitude = kopecks.magnitude
        appendDecimal(magnitude / 100)
        bytes.append(UInt8(ascii: "."))
        let fraction = magnitude % 100
        if fraction % 10 == 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(fraction / 10))
        } else {
            bytes.append(UInt8(ascii: "0") + UInt8(fraction / 10))
            bytes.append(UInt8(ascii: "0") + UInt8(fraction % 10))
        }
    }

    mutating func appendInteger(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDecimal(value.magnitude)
    }

    mutating func appendDecimal(_ value: UInt64) {
        var width = 1
        var probe = value
        while probe >= 10 {
            probe /= 10
            width += 1
        }
        let at = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width))
        var rest = value
        var i = at + width - 1
        while rest > 0 {
            bytes[i] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            i -= 1
        }
    }

    /// A JSON string with the escapes RFC 8259 requires.
    mutating func appendQuoted(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        // Keys and the generator's values need no escapes: copy them whole.
        let copied = text.utf8.withContiguousStorageIfAvailable { raw -> Bool in
            for byte in raw where byte < 0x20 || byte == 0x22 || byte == 0x5C { return false }
            bytes.append(contentsOf: raw)
            return true
        }
        if copied == true {
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30])
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func appendRaw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// Cuts the line to its first `count` bytes (a truncated message).
    mutating func truncate(to count: Int) {
        if count < bytes.count { bytes.removeLast(bytes.count - count) }
    }

    /// The timestamp of `ms` in `style`, as a JSON string.
    mutating func timestamp(_ name: String, _ ms: Int64, _ style: TimestampStyle) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        style.append(ms, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }
}

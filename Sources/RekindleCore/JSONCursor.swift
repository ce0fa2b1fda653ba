/// Writes JSON tokens through a pointer into room reserved beforehand (`[UInt8].appendJSON(upTo:)`),
/// with none of an array's capacity and uniqueness checks per byte: the hot outputs (a trigger per
/// two input lines) reserve their bound once per message and write every byte here. Each write
/// checks that its own bound fits, so a bound too small stops the process rather than writing
/// past the room.
struct JSONCursor {
    private(set) var p: UnsafeMutablePointer<UInt8>
    let end: UnsafeMutablePointer<UInt8>

    init(_ start: UnsafeMutablePointer<UInt8>, end: UnsafeMutablePointer<UInt8>) {
        p = start
        self.end = end
    }

    /// The most bytes each kind of value takes (a string's is `bound(_:)`).
    static let intBound = 20, doubleBound = 32, timeBound = 26

    /// The most bytes `string(s)` writes: quotes, and every byte escaped as `\u00XX` at worst.
    @inline(__always)
    static func bound(_ s: String) -> Int { 6 * s.utf8.count + 2 }

    @inline(__always)
    mutating func room(_ n: Int) { precondition(end - p >= n, "JSON output bound too small") }

    @inline(__always)
    mutating func byte(_ b: UInt8) {
        room(1)
        p.pointee = b
        p += 1
    }

    /// Literal bytes: punctuation and member names with their quotes (`,"rule_id":`).
    @inline(__always)
    mutating func raw(_ s: StaticString) {
        let n = s.utf8CodeUnitCount
        room(n)
        p.update(from: s.utf8Start, count: n)
        p += n
    }

    /// A JSON string: quoted, with `"`, `\` and control characters escaped, everything else
    /// (UTF-8 beyond ASCII included) as it is.
    mutating func string(_ s: String) {
        if s.utf8.withContiguousStorageIfAvailable({ quoted($0) }) == nil {
            var copy = s
            copy.withUTF8 { quoted($0) }
        }
    }

    mutating func quoted(_ s: UnsafeBufferPointer<UInt8>) {
        room(6 * s.count + 2)
        var q = p
        q.pointee = 0x22
        q += 1
        guard let base = s.baseAddress else {
            q.pointee = 0x22
            p = q + 1
            return
        }
        var i = 0
        while i < s.count {
            // Eight bytes at a time while none needs escaping (the room holds 6 per byte).
            if i + 8 <= s.count {
                let x = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                if !JSONCursor.needsEscape(UInt64(littleEndian: x)) {
                    UnsafeMutableRawPointer(q).storeBytes(of: x, as: UInt64.self)
                    q += 8
                    i += 8
                    continue
                }
            }
            let c = base[i]
            i += 1
            if c >= 0x20 && c != 0x22 && c != 0x5c {
                q.pointee = c
                q += 1
                continue
            }
            q.pointee = 0x5c
            switch c {
            case 0x22, 0x5c: q[1] = c; q += 2
            case 0x0a: q[1] = UInt8(ascii: "n"); q += 2
            case 0x0d: q[1] = UInt8(ascii: "r"); q += 2
            case 0x09: q[1] = UInt8(ascii: "t"); q += 2
            default:
                q[1] = UInt8(ascii: "u"); q[2] = 0x30; q[3] = 0x30
                q[4] = JSONCursor.hexDigit(c >> 4); q[5] = JSONCursor.hexDigit(c & 0xf)
                q += 6
            }
        }
        q.pointee = 0x22
        p = q + 1
    }

    /// Whether any of eight bytes is a quote, a backslash or a control character (bytes beyond
    /// ASCII are written as they are).
    @inline(__always)
    static func needsEscape(_ x: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
        let quote = x ^ (ones &* 0x22), backslash = x ^ (ones &* 0x5c)
        return (((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((x &- ones &* 0x20) & ~x)) & high != 0
    }

    @inline(__always)
    static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 48 + v : 87 + v }

    /// "00" to "99": two digits per division when writing integers.
    static let digitPairs: StaticString =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

    /// `v`'s decimal digits, exactly `width` of them (zero-padded), ending just before `q`.
    @inline(__always)
    static func digits(_ v: UInt64, width: Int, endingAt q: UnsafeMutablePointer<UInt8>) {
        let pairs = digitPairs.utf8Start
        var x = v, q = q, left = width
        while left >= 2 {
            let r = Int(x % 100)
            x /= 100
            q -= 2
            q[0] = pairs[2 * r]
            q[1] = pairs[2 * r + 1]
            left -= 2
        }
        if left == 1 {
            q -= 1
            q.pointee = UInt8(truncatingIfNeeded: 48 + x % 10)
        }
    }

    @inline(__always)
    static func digitCount(_ v: UInt64) -> Int {
        var n = 1, x = v
        while x >= 10 {
            x /= 10
            n += 1
        }
        return n
    }

    /// Decimal, as Swift's `String(v)` writes it.
    mutating func int(_ v: Int64) {
        room(JSONCursor.intBound)
        if v < 0 {
            p.pointee = 0x2d
            p += 1
        }
        let m = v.magnitude
        let n = JSONCursor.digitCount(m)
        p += n
        JSONCursor.digits(m, width: n, endingAt: p)
    }

    /// A double exactly as `JSONWriter.number` (Swift's `description`, the shortest form that
    /// reads back as the same double) writes it, without a String: amounts with a few decimals
    /// by hand, the rest by the standard library's formatter straight into the room.
    mutating func double(_ d: Double) {
        room(JSONCursor.doubleBound)
        guard d.isFinite else {
            raw("null")
            return
        }
        if shortDecimal(d) { return }
        var out = PointerStream(p: p)
        d.write(to: &out)
        p = out.p
    }

    /// Exact powers of ten, 10^0 to 10^17 (every one is a double).
    static let powersOfTen: [Double] = (0...17).map { k in (0..<k).reduce(1.0) { a, _ in a * 10 } }

    /// A finite `d` with 1e-3 <= |d| < 1e15 that some decimal of at most 15 significant digits
    /// reads back as, written in that decimal (`1800.0`, `2589.99`, `-0.05`). Such a decimal is
    /// unique at its number of fraction digits (15 digits are coarser than a double's spacing), so
    /// the first that reads back, fewest fraction digits first, is the shortest there is: the one
    /// `description` writes, and in this range it writes it positionally. False for anything
    /// else (zero included), written by the standard library instead.
    mutating func shortDecimal(_ d: Double) -> Bool {
        let a = d.magnitude
        guard a >= 1e-3, a < 1e15 else {
            if d == 0 {
                if d.sign == .minus { raw("-0.0") } else { raw("0.0") }
                return true
            }
            return false
        }
        let powers = JSONCursor.powersOfTen
        for k in 0..<powers.count {
            let scale = powers[k]
            let m = (a * scale).rounded()
            guard m < 1e15 else { return false }
            // m and 10^k are exact, so m / 10^k is the decimal correctly rounded: what a reader gets.
            guard m / scale == a else { continue }
            if d < 0 {
                p.pointee = 0x2d
                p += 1
            }
            let digits = UInt64(m)
            let whole = digits / UInt64(scale), fraction = digits % UInt64(scale)
            let n = JSONCursor.digitCount(whole)
            p += n
            JSONCursor.digits(whole, width: n, endingAt: p)
            p.pointee = 0x2e
            p += 1
            if k == 0 {
                p.pointee = 0x30
                p += 1
            } else {
                p += k
                JSONCursor.digits(fraction, width: k, endingAt: p)
            }
            return true
        }
        return false
    }

    /// `"yyyy-mm-ddThh:mm:ss.SSSZ"`, quoted.
    mutating func time(_ ms: Millis) {
        room(JSONCursor.timeBound)
        p.pointee = 0x22
        p = Timestamp.write(ms, to: p + 1)
        p.pointee = 0x22
        p += 1
    }

    /// `yyyy-mm-ddThh:mm:ss.SSSZ`, unquoted (`Timestamp.format`).
    mutating func timestamp(_ ms: Millis) {
        room(24)
        p = Timestamp.write(ms, to: p)
    }

    /// Where the standard library's double formatter writes: its ASCII goes straight to the room
    /// (the caller checked that the longest form fits).
    struct PointerStream: TextOutputStream {
        var p: UnsafeMutablePointer<UInt8>

        mutating func write(_ string: String) {
            for c in string.utf8 {
                p.pointee = c
                p += 1
            }
        }

        mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
            guard let base = buffer.baseAddress else { return }
            p.update(from: base, count: buffer.count)
            p += buffer.count
        }
    }
}

extension Array where Element == UInt8 {
    /// Appends what `body` writes through a cursor with room for `bound` bytes: one reservation
    /// per message instead of a capacity check per byte.
    mutating func appendJSON(upTo bound: Int, _ body: (inout JSONCursor) -> Void) {
        #if compiler(>=6.3) && os(Linux)
            // Written in place, in the array's own new capacity.
            append(addingCapacity: bound) { span in
                span.withUnsafeMutableBufferPointer { room, initialized in
                    let start = room.baseAddress! + initialized
                    var c = JSONCursor(start, end: room.baseAddress! + room.count)
                    body(&c)
                    initialized += c.p - start
                }
            }
        #else
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bound) { room in
                var c = JSONCursor(room.baseAddress!, end: room.baseAddress! + bound)
                body(&c)
                append(contentsOf: UnsafeBufferPointer(start: room.baseAddress, count: c.p - room.baseAddress!))
            }
        #endif
    }
}

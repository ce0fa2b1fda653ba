/// Event time: integer milliseconds since the Unix epoch, UTC.
public typealias Millis = Int64

public let millisPerDay: Millis = 86_400_000
public let millisPerHour: Millis = 3_600_000
public let millisPerMinute: Millis = 60_000

/// RFC 3339 parsing and formatting, by hand: the core has no clock and no locale,
/// and Foundation's formatters are both slow and locale-sensitive.
public enum Timestamp {
    /// Parses an RFC 3339 date-time with a zone offset (`Z`, `z` or `±hh:mm`) and optional
    /// fractional seconds. Fractions finer than a millisecond are rounded down (toward the past).
    /// Returns nil for anything else, including out-of-range fields.
    public static func parse(_ text: String) -> Millis? {
        var copy = text
        return copy.withUTF8 { parse(utf8: $0) }
    }

    public static func parse(utf8 s: UnsafeBufferPointer<UInt8>) -> Millis? {
        // yyyy-mm-ddThh:mm:ss[.f+](Z|±hh:mm)
        guard s.count >= 20, let p = s.baseAddress else { return nil }
        /// Two digits at `i` as a number, or -1.
        @inline(__always) func two(_ i: Int) -> Int {
            let a = p[i] &- 48, b = p[i + 1] &- 48
            return a < 10 && b < 10 ? Int(a) &* 10 &+ Int(b) : -1
        }
        let century = two(0), yy = two(2), month = two(5), day = two(8)
        let hour = two(11), minute = two(14), second = two(17)
        guard century >= 0, yy >= 0, p[4] == 45, month >= 0, p[7] == 45, day >= 0,
            p[10] == 84 || p[10] == 116 || p[10] == 32, hour >= 0, p[13] == 58, minute >= 0, p[16] == 58, second >= 0
        else { return nil }
        let year = century * 100 + yy
        guard month >= 1, month <= 12, day >= 1, day <= daysInMonth(year, month), hour <= 23,
            minute <= 59, second <= 60
        else { return nil }
        var i = 19
        var millis = 0
        if p[i] == 46 {  // '.'
            i += 1
            var digits = 0
            while i < s.count, p[i] &- 48 < 10 {
                if digits < 3 { millis = millis * 10 + Int(p[i] &- 48) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            if digits < 3 { for _ in digits..<3 { millis *= 10 } }
        }
        guard i < s.count else { return nil }
        var offsetMinutes = 0
        if p[i] == 90 || p[i] == 122 {  // Z z
            i += 1
        } else if p[i] == 43 || p[i] == 45 {  // + -
            let sign = p[i] == 45 ? -1 : 1
            guard i + 6 == s.count else { return nil }
            let oh = two(i + 1), om = two(i + 4)
            guard oh >= 0, p[i + 3] == 58, om >= 0, oh <= 23, om <= 59 else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
            i += 6
        } else {
            return nil
        }
        guard i == s.count else { return nil }
        // A leap second (":60") is read as the last millisecond's successor, i.e. the next second.
        let days = daysFromCivil(year, month, day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
            - Int64(offsetMinutes * 60)
        return seconds * 1000 + Int64(millis)
    }

    /// Formats as `yyyy-mm-ddThh:mm:ss.SSSZ`, the one form every output uses.
    public static func format(_ ms: Millis) -> String {
        String(unsafeUninitializedCapacity: 24) { room in write(ms, to: room.baseAddress!) - room.baseAddress! }
    }

    /// The first and last instants with a four-digit year: `format` writes a time outside them
    /// (a watermark before year 0000, an offer valid past 9999) as the nearer one.
    public static let earliest: Millis = -62_167_219_200_000
    public static let latest: Millis = 253_402_300_799_999

    public static func append(_ time: Millis, to out: inout [UInt8]) {
        out.appendJSON(upTo: 24) { $0.timestamp(time) }
    }

    /// Writes the 24 bytes of `format(time)` at `p` and returns the end: digits in place, no
    /// allocation (this runs for every time in every output message).
    static func write(_ time: Millis, to p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        let ms = min(max(time, earliest), latest)
        let totalSeconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let milli = ms - totalSeconds * 1000
        let days = totalSeconds >= 0 ? totalSeconds / 86_400 : (totalSeconds - 86_399) / 86_400
        let secOfDay = totalSeconds - days * 86_400
        let (y, m, d) = civilFromDays(Int(days))
        func put(_ v: some BinaryInteger, _ width: Int, endingAt end: Int) {
            JSONCursor.digits(UInt64(v), width: width, endingAt: p + end)
        }
        put(y, 4, endingAt: 4); p[4] = 45
        put(m, 2, endingAt: 7); p[7] = 45
        put(d, 2, endingAt: 10); p[10] = 84
        put(secOfDay / 3600, 2, endingAt: 13); p[13] = 58
        put(secOfDay / 60 % 60, 2, endingAt: 16); p[16] = 58
        put(secOfDay % 60, 2, endingAt: 19); p[19] = 46
        put(milli, 3, endingAt: 23); p[23] = 90
        return p + 24
    }

    static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    /// Days in month `m` (1-12) of year `y`, leap years counted.
    public static func daysInMonth(_ y: Int, _ m: Int) -> Int {
        switch m {
        case 2: return isLeap(y) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Howard Hinnant's days_from_civil.
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}

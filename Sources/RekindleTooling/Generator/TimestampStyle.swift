import RekindleCore

/// The forms `occurred_at` takes, so that consumers' parsers see more than one producer's habit.
/// Every form names the same instant as the event's milliseconds.
enum TimestampStyle: UInt8, Sendable {
    /// `2026-03-01T09:00:00.250Z`, most events.
    case utcMillis
    /// `2026-03-01T12:00:00.250+03:00`, the shop's Moscow clock.
    case moscowMillis
    /// `2026-03-01T09:00:00Z`; the event time is whole seconds.
    case utcSeconds
    /// `2026-03-01T12:00:00+03:00`; the event time is whole seconds.
    case moscowSeconds
    /// `2026-03-01T09:00:00.250000Z`, microsecond precision from some producers.
    case utcMicros

    static let moscowOffset: Int64 = 3 * 3_600_000

    var wholeSeconds: Bool { self == .utcSeconds || self == .moscowSeconds }

    static func draw(_ rng: inout SplitMix64) -> TimestampStyle {
        switch rng.below(100) {
        case 0..<78: .utcMillis
        case 78..<88: .moscowMillis
        case 88..<94: .utcSeconds
        case 94..<97: .moscowSeconds
        default: .utcMicros
        }
    }

    /// Appends the form of `ms` (already whole seconds for the `...Seconds` forms).
    func append(_ ms: Int64, to out: inout [UInt8]) {
        switch self {
        case .utcMillis:
            Timestamp.append(ms, to: &out)
        case .moscowMillis:
            Timestamp.append(ms + Self.moscowOffset, to: &out)
            out.removeLast()  // Z
            out.append(contentsOf: Self.moscowSuffix)
        case .utcSeconds:
            Timestamp.append(ms, to: &out)
            out.removeLast(5)  // .000Z
            out.append(UInt8(ascii: "Z"))
        case .moscowSeconds:
            Timestamp.append(ms + Self.moscowOffset, to: &out)
            out.removeLast(5)
            out.append(contentsOf: Self.moscowSuffix)
        case .utcMicros:
            Timestamp.append(ms, to: &out)
            out.removeLast()
            out.append(contentsOf: Self.microSuffix)
        }
    }

    private static let moscowSuffix = Array("+03:00".utf8)
    private static let microSuffix = Array("000Z".utf8)
}

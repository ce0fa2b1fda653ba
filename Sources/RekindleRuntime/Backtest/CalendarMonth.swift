import RekindleCore

/// A UTC calendar month, the unit of the back-test's cohorts and time series. Months are
/// numbered consecutively (`year * 12 + month - 1`), so "months since" is a subtraction.
struct CalendarMonth: Hashable, Comparable, Sendable {
    var index: Int

    init(index: Int) { self.index = index }

    /// The month holding instant `t`.
    init(_ t: Millis) {
        let text = Timestamp.format(t).utf8
        func number(_ range: Range<Int>) -> Int {
            text.dropFirst(range.lowerBound).prefix(range.count).reduce(0) { $0 * 10 + Int($1 - 48) }
        }
        index = number(0..<4) * 12 + number(5..<7) - 1
    }

    var year: Int { index / 12 }
    var month: Int { index % 12 + 1 }

    /// `yyyy-mm`, as the report names months.
    var name: String {
        let m = month
        return "\(year)-\(m < 10 ? "0" : "")\(m)"
    }

    /// The month's first instant.
    var start: Millis { Timestamp.parse("\(name)-01T00:00:00Z")! }
    var next: CalendarMonth { CalendarMonth(index: index + 1) }

    static func < (a: CalendarMonth, b: CalendarMonth) -> Bool { a.index < b.index }

    /// The months from the one holding `from` to the one holding `to`, both included.
    static func span(from: Millis, to: Millis) -> [CalendarMonth] {
        guard from <= to else { return [] }
        let first = CalendarMonth(from), last = CalendarMonth(to)
        return (first.index...last.index).map { CalendarMonth(index: $0) }
    }
}

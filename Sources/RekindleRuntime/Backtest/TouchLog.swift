import RekindleCore

/// A rule set's touches as its fold emits them, indexed as they come (on the fold's thread, beside
/// the other rule set's fold) so that what is left to do once the folds end is little: each
/// customer's touches in firing order (a customer's touches all come from one task), and the
/// touches per calendar month.
struct TouchLog: Sendable {
    private(set) var touches: [Touch] = []
    /// Indices in `touches`, per customer, in firing order.
    private(set) var byCustomer: [String: [Int32]] = [:]
    private(set) var byMonth: [CalendarMonth: Int] = [:]
    /// The month of the latest touch and its bounds: touches come nearly in time order, so this
    /// spares a calendar computation per touch.
    private var month: (start: Millis, end: Millis, month: CalendarMonth)?

    init() {}

    /// The log of `touches`, each customer's in firing order.
    init(_ touches: [Touch]) {
        for t in touches { append(t) }
    }

    mutating func append(_ t: Touch) {
        byCustomer[t.customerId, default: []].append(Int32(touches.count))
        if let m = month, t.firedAt >= m.start && t.firedAt < m.end {
            byMonth[m.month, default: 0] += 1
        } else {
            let m = CalendarMonth(t.firedAt)
            month = (m.start, m.next.start, m)
            byMonth[m, default: 0] += 1
        }
        touches.append(t)
    }
}

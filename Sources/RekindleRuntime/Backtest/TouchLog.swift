import RekindleCore

/// A rule set's touches as its fold emits them, indexed as they come (on the fold's thread, beside
/// the other rule set's fold) so that what is left to do once the folds end is little: each
/// customer's touches in firing order (a customer's touches all come from one task), and the
/// touches per calendar month.
///
/// While the fold runs, touches are chained per customer life, by a number the fold gives
/// (`CampaignTask.origins`): an array write per touch. Keying them by customer id as they came
/// (a dictionary of arrays) cost a String hash and often an allocation per touch, most of the
/// back-test's counting on its fold threads (`perf` of `backtest --compare` on a 1M-event file).
/// `index()` groups them by id once, at the end: one hash per customer.
struct TouchLog: Sendable {
    private(set) var touches: [Touch] = []
    /// Indices in `touches`, per customer, in firing order: filled by `index()`.
    private(set) var byCustomer: [String: [Int32]] = [:]
    private(set) var byMonth: [CalendarMonth: Int] = [:]
    /// Per touch, the index of the same customer life's previous touch, -1 for its first.
    private var previous: [Int32] = []
    /// Per customer life, its latest touch's index plus one (0: none yet).
    private var latest: [Int32] = []
    /// The month of the latest touch, its bounds, and its touches since it was last added to
    /// `byMonth`: touches come nearly in time order, so this spares a calendar computation and a
    /// dictionary update per touch.
    private var month: (start: Millis, end: Millis, month: CalendarMonth, count: Int)?

    init() {}

    /// The log of `touches`, each customer's in firing order, numbered by id.
    init(_ touches: [Touch]) {
        var numbers: [String: Int] = [:]
        for t in touches {
            let n = numbers[t.customerId] ?? numbers.count
            numbers[t.customerId] = n
            append(t, customer: n)
        }
        index()
    }

    /// `t`, the next touch, of customer life `customer` (a small number: it indexes an array).
    mutating func append(_ t: Touch, customer: Int) {
        if customer >= latest.count {
            // Grown by a quarter at least, not doubled: numbers come about in order, one each.
            latest.append(contentsOf: repeatElement(0, count: max(customer + 1 - latest.count, latest.count / 4 + 1)))
        }
        previous.append(latest[customer] - 1)
        latest[customer] = Int32(touches.count + 1)
        if let m = month, t.firedAt >= m.start && t.firedAt < m.end {
            month!.count += 1
        } else {
            countMonth()
            let m = CalendarMonth(t.firedAt)
            month = (m.start, m.next.start, m, 1)
        }
        touches.append(t)
    }

    /// Adds the current month's touches to `byMonth`.
    private mutating func countMonth() {
        guard let m = month, m.count > 0 else { return }
        byMonth[m.month, default: 0] += m.count
        month!.count = 0
    }

    /// Groups the touches by customer id (`byCustomer`), each customer's in firing order, and
    /// counts the last month's touches into `byMonth`. A customer erased and back is one id of
    /// two lives: their touches are merged in firing order.
    mutating func index() {
        countMonth()
        var byCustomer: [String: [Int32]] = [:]
        byCustomer.reserveCapacity(latest.count)
        for last in latest where last > 0 {
            var chain: [Int32] = []
            var k = last - 1
            while k >= 0 {
                chain.append(k)
                k = previous[Int(k)]
            }
            chain.reverse()
            let id = touches[Int(chain[0])].customerId
            if let before = byCustomer[id] {
                byCustomer[id] = (before + chain).sorted()
            } else {
                byCustomer[id] = chain
            }
        }
        self.byCustomer = byCustomer
    }
}

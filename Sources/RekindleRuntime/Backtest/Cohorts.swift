import RekindleCore

/// Whole-history analytics of seed 004 (spec 7.4), from the purchases that count at the end of
/// the history (completed and not cancelled or returned), whatever the rules:
/// - cohorts by the month of a customer's first purchase, with the share of the cohort that
///   bought in each month since (month 0 is the first purchase's month: 100%);
/// - retention per calendar month, `(customers at end - new) / customers at start`, where a
///   customer "is a customer" at an instant if they bought in the `activeDays` before it (the
///   churn horizon's default, 90 days), and new customers are those whose first purchase falls in
///   the month;
/// - the repeat-purchase rate: the share of buyers with two purchases or more;
/// - `LTV = mean monthly revenue per customer x mean lifetime in months`, where a month is
///   365.2425 / 12 days; monthly revenue per customer is the revenue divided by the customers'
///   months since their first purchase (to the end of the history), and a customer's lifetime is
///   the time from their first purchase to their last (a one-time buyer's is 0). Lifetimes are
///   observed, so cut short by the end of the history: young cohorts' are underestimates.
struct Cohorts: Sendable {
    static let activeDays: Int64 = 90
    static let monthMs = 365.2425 / 12 * Double(millisPerDay)

    struct Cohort: Sendable, Equatable {
        var month: CalendarMonth
        var customers = 0
        var repeatCustomers = 0
        var cents: Int64 = 0
        /// Customers of the cohort who bought in month `month + k`, for k = 0, 1, ... up to the
        /// history's last month.
        var active: [Int] = []
    }

    struct MonthRetention: Sendable, Equatable {
        var month: CalendarMonth
        var start = 0
        var end = 0
        var new = 0
        /// nil when nobody was a customer at the start.
        var retention: Double? { start == 0 ? nil : Double(end - new) / Double(start) }
    }

    var cohorts: [Cohort] = []
    var months: [MonthRetention] = []
    var buyers = 0
    var repeatBuyers = 0
    var cents: Int64 = 0
    var customerMonths = 0.0
    var lifetimeMonths = 0.0

    var repeatRate: Double? { buyers == 0 ? nil : Double(repeatBuyers) / Double(buyers) }
    var monthlyRevenuePerCustomer: Double? { customerMonths > 0 ? Double(cents) / 100 / customerMonths : nil }
    var meanLifetimeMonths: Double? { buyers == 0 ? nil : lifetimeMonths / Double(buyers) }
    var ltv: Double? {
        guard let m = monthlyRevenuePerCustomer, let l = meanLifetimeMonths else { return nil }
        return m * l
    }

    /// The analytics of `history` over the period `from...to` (its first and last events).
    init(_ history: PurchaseHistory, from: Millis, to: Millis) {
        guard history.events > 0 else { return }
        let customers = history.purchasesByCustomer(countingAt: to)
        let span = CalendarMonth.span(from: from, to: to)
        guard let lastMonth = span.last else { return }
        var byMonth: [CalendarMonth: Int] = [:]
        // Purchase instants of every buyer, for "is a customer at an instant".
        var instants: [[Millis]] = []
        for (_, purchases) in customers {
            let first = purchases[0].at, last = purchases[purchases.count - 1].at
            let month = CalendarMonth(first)
            let k: Int
            if let found = byMonth[month] {
                k = found
            } else {
                k = cohorts.count
                byMonth[month] = k
                cohorts.append(Cohort(month: month, active: [Int](repeating: 0, count: lastMonth.index - month.index + 1)))
            }
            cohorts[k].customers += 1
            buyers += 1
            if purchases.count > 1 {
                cohorts[k].repeatCustomers += 1
                repeatBuyers += 1
            }
            var seen = Set<Int>()
            for p in purchases {
                cohorts[k].cents += p.cents
                cents += p.cents
                let since = CalendarMonth(p.at).index - month.index
                if seen.insert(since).inserted { cohorts[k].active[since] += 1 }
            }
            customerMonths += Double(to - first) / Self.monthMs
            lifetimeMonths += Double(last - first) / Self.monthMs
            instants.append(purchases.map(\.at))
        }
        cohorts.sort { $0.month < $1.month }
        let window = Self.activeDays * millisPerDay
        /// Buyers with a purchase in `[t - window, t)`.
        func customersAt(_ t: Millis) -> Int {
            instants.reduce(0) { n, times in
                // The last purchase before t, by binary search (times are in order).
                var low = 0, high = times.count
                while low < high {
                    let mid = (low + high) / 2
                    if times[mid] < t { low = mid + 1 } else { high = mid }
                }
                return low > 0 && times[low - 1] >= t - window ? n + 1 : n
            }
        }
        let newCustomers = Dictionary(uniqueKeysWithValues: cohorts.map { ($0.month, $0.customers) })
        for month in span {
            // The month's part of the period: the first and last months may be partial.
            let start = max(month.start, from), end = min(month.next.start, to + 1)
            var m = MonthRetention(month: month)
            m.start = customersAt(start)
            m.end = customersAt(end)
            m.new = newCustomers[month] ?? 0
            months.append(m)
        }
    }
}

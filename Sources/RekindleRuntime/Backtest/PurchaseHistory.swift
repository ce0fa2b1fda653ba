import RekindleCore

/// What the back-test reads of the history itself, whatever the rules: when each customer was
/// first seen, and every purchase, by spec 3.8's order semantics (the fold's, applied again here so
/// that attribution and analytics run in the runtime, beside the fold and not in it). An order
/// event whose `event_id` was already applied to its order, or that repeats the order's status,
/// changes nothing; an order becomes a purchase when an event completes it (at that event's
/// `occurred_at`, for that event's `total`) and stops being one when a later event gives it
/// another status.
struct PurchaseHistory: Sendable {
    struct Purchase: Sendable {
        var customerId: String
        var orderId: String
        var at: Millis
        /// The completing event's `total` in integer cents: sums are exact to the cent.
        var cents: Int64
        /// The order's products as last listed up to the completion (spec 3.6's "bought").
        var products: [String]
        /// When a later event gave the order another status; nil while it still counts.
        var removedAt: Millis?

        /// Whether the purchase counts at instant `t` (completed by then and not yet removed).
        func counts(at t: Millis) -> Bool { at <= t && (removedAt.map { $0 > t } ?? true) }
    }

    private struct Order {
        var status: OrderStatus?
        var eventIds: [String] = []
        var products: [String] = []
        /// The index in `purchases` of the completion that counts now.
        var purchase: Int?
    }

    /// Every completion, in the order the fold applies them (a re-completed order has several).
    private(set) var purchases: [Purchase] = []
    /// Each customer's number, in the order they were first seen: one hash of the id per event
    /// (a dictionary of first-seen times and one of orders by customer hashed it two to four times).
    private var numbers: [String: Int32] = [:]
    /// When each customer was first seen, by number.
    private(set) var firstSeen: [Millis] = []
    /// Completions whose total is beyond `maxCents`: left out of purchases and revenue.
    private(set) var beyondRevenueLimit = 0
    private(set) var events = 0
    private(set) var first: Millis?
    private(set) var last: Millis?
    /// Each customer's orders, by number, found by a linear search (a customer has few).
    private var orders: [[(id: String, order: Order)]] = []

    /// Totals beyond 10^10 (currency units) are not added: a sum of a million of them still fits
    /// in 64-bit cents, so no sum in the report can overflow.
    static let maxCents: Int64 = 1_000_000_000_000

    /// `total` in whole cents, or nil beyond the limit (or not a number).
    static func cents(_ total: Double) -> Int64? {
        let c = (total * 100).rounded()
        guard c.isFinite, abs(c) <= Double(maxCents) else { return nil }
        return Int64(c)
    }

    /// Takes the next event in fold order (`occurred_at`, ties in input order).
    mutating func add(_ e: Event) {
        events += 1
        if first == nil { first = e.occurredAt }
        last = e.occurredAt
        let fresh = Int32(firstSeen.count)
        let c = Int(numbers[e.customerId, default: fresh])
        if c == firstSeen.count {
            numbers[e.customerId] = fresh
            firstSeen.append(e.occurredAt)
            orders.append([])
        }
        guard case .order(let o) = e.body else { return }
        let at = orders[c].firstIndex { $0.id == o.orderId }
        var order = at.map { orders[c][$0].order } ?? Order()
        guard !order.eventIds.contains(e.eventId) && order.status != o.status else { return }
        order.eventIds.append(e.eventId)
        let previous = order.status
        order.status = o.status
        if !o.items.isEmpty {
            var products: [String] = []
            for item in o.items where !products.contains(item.productId) { products.append(item.productId) }
            order.products = products
        }
        if o.status == .completed {
            if let cents = Self.cents(o.total) {
                order.purchase = purchases.count
                purchases.append(Purchase(
                    customerId: e.customerId, orderId: o.orderId, at: e.occurredAt, cents: cents, products: order.products))
            } else {
                beyondRevenueLimit += 1
            }
        } else if previous == .completed, let k = order.purchase {
            purchases[k].removedAt = e.occurredAt
            order.purchase = nil
        }
        if let at { orders[c][at].order = order } else { orders[c].append((o.orderId, order)) }
    }

    /// Each customer's purchases that count at the end of the history, in time order, by customer
    /// in the order their first purchase came.
    func purchasesByCustomer(countingAt t: Millis) -> [(customerId: String, purchases: [Purchase])] {
        var index: [String: Int] = [:]
        var out: [(customerId: String, purchases: [Purchase])] = []
        for p in purchases where p.counts(at: t) {
            if let k = index[p.customerId] {
                out[k].purchases.append(p)
            } else {
                index[p.customerId] = out.count
                out.append((p.customerId, [p]))
            }
        }
        return out
    }
}

/// What a task remembers about one customer that every family may read: orders, purchases and
/// facts, when it was seen, its recent views, and the touches it was sent. A family's own state is
/// the family's (`Families/`).
struct CustomerState: Sendable {
    struct OrderRecord: Sendable {
        var orderId: String
        var status: OrderStatus?
        var eventIds: [String] = []
        /// The products of the order's latest event that listed items.
        var products: [Int32] = []
        var converted = false
        var creditedToModel = false
        /// Completed at least once: its products count as bought, even after a return.
        var everCompleted = false

        /// Spec 3.8 item 2: a re-delivered event or a repeated status has no effect at all.
        func ignores(eventId: String, status: OrderStatus) -> Bool {
            eventIds.contains(eventId) || self.status == status
        }
    }

    struct Purchase: Sendable {
        var orderId: String
        var at: Millis
        var total: Double
    }

    /// A product's latest view; `seq` orders equal times by application.
    struct View: Sendable {
        var product: Int32
        var at: Millis
        var seq: Int64
    }

    /// A touch identity (rule, anchor, touch) that has fired; the anchor is `L` for touches
    /// anchored on the last purchase, `Millis.min` for once-per-customer rules.
    struct FiredTouch: Sendable, Equatable {
        var rule: Int32
        var anchor: Millis
        var touch: Int32
    }

    /// A fired touch whose conversion window may still be open. Its trigger id is not kept: it is
    /// a hash of (rule, customer, fired_at, touch), recomputed for the rare conversion (a
    /// 32-character String per open touch was a heap allocation per trigger).
    struct OpenTouch: Sendable {
        var rule: Int32
        var touch: Int32
        var firedAt: Millis
        var windowEnd: Millis
    }

    var id: String
    var facts = CustomerFacts()
    /// The customer's orders by id (bytes), found by a linear search: a customer has few. Kept
    /// encoded (`OrderList`).
    var orders = OrderList()
    /// Completed orders that count, in the order they were applied.
    var purchases: [Purchase] = []
    var firstSeen: Millis?
    var lastSignal: Millis?
    /// The latest view of each product viewed within the longest window that reads views.
    var views: [View] = []
    /// Every product the customer ever viewed: never recommended to them (spec 3.6).
    var viewedEver: [Int32] = []
    /// The touch ledger: every touch identity that fired (spec 3.8 item 4).
    var fired: [FiredTouch] = []
    var openTouches: [OpenTouch] = []

    init(id: String) { self.id = id }

    /// Recomputes `n`, `L`, `first` and `total_spent` from the purchases that count, in the
    /// order they were applied (spec 3.8 item 3: as if a removed purchase never counted).
    mutating func recomputeFacts() {
        facts.completedOrders = purchases.count
        var total = 0.0
        var last = Millis.min, first = Millis.max
        for p in purchases {
            total += p.total
            last = max(last, p.at)
            first = min(first, p.at)
        }
        facts.totalSpent = total
        facts.lastPurchaseAt = purchases.isEmpty ? 0 : last
        facts.firstPurchaseAt = purchases.isEmpty ? 0 : first
        // `fired` is never pruned here: a late completion can bring back any earlier `L`, and
        // its touches must still fire at most once (spec 3.8 item 4).
    }

    func hasFired(_ t: FiredTouch) -> Bool { fired.contains(t) }

    func orderIndex(_ id: String) -> Int? { orders.index(of: id) }

    /// Puts `order` back where it was read from (`at`), or adds it as a new order. Orders are
    /// kept in order of their ids' bytes, so that the same orders are the same record bytes
    /// whatever order they came in (a snapshot of a fold equals a restored one's).
    mutating func store(_ order: OrderRecord, at k: Int?) { orders.store(order, at: k) }
}

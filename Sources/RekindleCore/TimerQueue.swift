import HeapModule

/// Event-time timers of one task: at most one live entry per customer (its earliest pending
/// touch), ordered by (due, customer_id bytes) as spec section 4 orders same-instant timers.
/// Entries superseded by a reschedule stay in the heap and are skipped when popped.
struct TimerQueue: Sendable {
    struct Entry: Comparable, Sendable {
        var due: Millis
        var customer: Int32
        var customerId: String

        static func < (a: Entry, b: Entry) -> Bool {
            a.due != b.due ? a.due < b.due : RuleSet.byteLess(a.customerId, b.customerId)
        }

        static func == (a: Entry, b: Entry) -> Bool { a.due == b.due && a.customer == b.customer }
    }

    private var heap = Heap<Entry>()

    var count: Int { heap.count }

    mutating func insert(due: Millis, customer: Int32, customerId: String) {
        heap.insert(Entry(due: due, customer: customer, customerId: customerId))
    }

    /// Removes and returns the earliest entry due at or before `limit`.
    mutating func popDue(upTo limit: Millis) -> Entry? {
        guard let top = heap.min, top.due <= limit else { return nil }
        return heap.removeMin()
    }

    var nextDue: Millis? { heap.min?.due }
}

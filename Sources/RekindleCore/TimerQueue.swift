/// Event-time timers of one task: one entry per customer with a pending touch (its earliest),
/// ordered by (due, customer_id bytes) as spec section 4 orders same-instant timers.
///
/// An indexed 4-ary heap: rescheduling a customer moves its entry in place, and a customer with
/// nothing pending has none. So the heap never holds superseded entries (a lazy-deletion heap grew
/// with every cancelled touch) and its size is the number of customers with a pending touch.
struct TimerQueue: Sendable {
    /// The due time as two 32-bit halves: 12 bytes an entry, where a 64-bit field aligned the
    /// entry to 16 (a task at 1M customers holds an entry for nearly every one).
    struct Entry: Sendable {
        private var dueHigh: Int32
        private var dueLow: UInt32
        var customer: Int32

        init(due: Millis, customer: Int32) {
            dueHigh = Int32(truncatingIfNeeded: due >> 32)
            dueLow = UInt32(truncatingIfNeeded: due)
            self.customer = customer
        }

        var due: Millis {
            get { Millis(dueHigh) << 32 | Millis(dueLow) }
            set {
                dueHigh = Int32(truncatingIfNeeded: newValue >> 32)
                dueLow = UInt32(truncatingIfNeeded: newValue)
            }
        }
    }

    /// Children per node. Four: a customer's entry sinks through half the levels of a binary
    /// heap, and a node's four children are 48 contiguous bytes, mostly one cache line (`down`,
    /// on every reschedule, was most of the timers' samples, missing the cache on each level of
    /// a heap of a task's customers). Entries are totally ordered, so the order they pop in is
    /// the same whatever the arity.
    static var arity: Int { 4 }
    private var heap: [Entry] = []
    /// The heap slot of each customer's entry, -1 for none; indexed by customer number.
    private var slot: [Int32] = []

    var count: Int { heap.count }
    var footprint: Int { heap.capacity * MemoryLayout<Entry>.stride + slot.capacity * MemoryLayout<Int32>.stride }
    var nextDue: Millis? { heap.first?.due }

    @inline(__always)
    static func less(_ a: Entry, _ b: Entry, _ ids: CustomerStore) -> Bool {
        a.due != b.due ? a.due < b.due : ids.idLess(Int(a.customer), Int(b.customer))
    }

    /// The customer's due time, if it has an entry.
    func due(_ customer: Int) -> Millis? {
        customer < slot.count && slot[customer] >= 0 ? heap[Int(slot[customer])].due : nil
    }

    /// Sets the customer's timer to `due`, or removes it when `due` is nil. `ids` orders entries
    /// due at the same instant by customer id.
    mutating func schedule(customer: Int32, due: Millis?, ids: CustomerStore) {
        let c = Int(customer)
        if c >= slot.count { slot.append(contentsOf: repeatElement(-1, count: c + 1 - slot.count)) }
        let k = Int(slot[c])
        guard let due else {
            if k >= 0 { remove(at: k, ids) }
            return
        }
        if k < 0 {
            heap.append(Entry(due: due, customer: customer))
            slot[c] = Int32(heap.count - 1)
            up(heap.count - 1, ids)
        } else {
            let earlier = due < heap[k].due
            heap[k].due = due
            if earlier { up(k, ids) } else { down(k, ids) }
        }
    }

    /// Every customer's due time, by customer number.
    func entries() -> [(customer: Int32, due: Millis)] {
        var list: [(customer: Int32, due: Millis)] = []
        list.reserveCapacity(heap.count)
        for (c, k) in slot.enumerated() where k >= 0 { list.append((Int32(c), heap[Int(k)].due)) }
        return list
    }

    /// Replaces the queue with these entries (each customer once) in one O(n) heap build, as a
    /// restore does, instead of n insertions.
    mutating func load(_ entries: [(customer: Int32, due: Millis)], customers: Int, ids: CustomerStore) {
        heap = entries.map { Entry(due: $0.due, customer: $0.customer) }
        slot = [Int32](repeating: -1, count: customers)
        for (k, e) in heap.enumerated() { slot[Int(e.customer)] = Int32(k) }
        var k = (heap.count - 2) / Self.arity
        while k >= 0 && heap.count > 1 {
            down(k, ids)
            k -= 1
        }
    }

    /// Removes and returns the earliest entry due at or before `limit`.
    mutating func popDue(upTo limit: Millis, ids: CustomerStore) -> Entry? {
        guard let top = heap.first, top.due <= limit else { return nil }
        remove(at: 0, ids)
        return top
    }

    private mutating func remove(at k: Int, _ ids: CustomerStore) {
        slot[Int(heap[k].customer)] = -1
        let last = heap.removeLast()
        guard k < heap.count else { return }
        heap[k] = last
        slot[Int(last.customer)] = Int32(k)
        up(k, ids)
        down(Int(slot[Int(last.customer)]), ids)
    }

    // The sifts move a hole instead of swapping: the entry is written once where it stops and
    // each entry it passes moves once, over unsafe buffers (the swaps' array accesses checked
    // uniqueness and bounds at every step, and `down` was the largest part of rescheduling).

    private mutating func up(_ start: Int, _ ids: CustomerStore) {
        heap.withUnsafeMutableBufferPointer { h in
            slot.withUnsafeMutableBufferPointer { s in
                let e = h[start]
                var k = start
                while k > 0 {
                    let parent = (k - 1) / Self.arity
                    guard Self.less(e, h[parent], ids) else { break }
                    h[k] = h[parent]
                    s[Int(h[k].customer)] = Int32(k)
                    k = parent
                }
                h[k] = e
                s[Int(e.customer)] = Int32(k)
            }
        }
    }

    private mutating func down(_ start: Int, _ ids: CustomerStore) {
        heap.withUnsafeMutableBufferPointer { h in
            slot.withUnsafeMutableBufferPointer { s in
                let n = h.count
                let e = h[start]
                var k = start
                while true {
                    let l = Self.arity * k + 1
                    guard l < n else { break }
                    var m = l
                    for c in (l + 1)..<min(l + Self.arity, n) where Self.less(h[c], h[m], ids) { m = c }
                    guard Self.less(h[m], e, ids) else { break }
                    h[k] = h[m]
                    s[Int(h[k].customer)] = Int32(k)
                    k = m
                }
                h[k] = e
                s[Int(e.customer)] = Int32(k)
            }
        }
    }
}

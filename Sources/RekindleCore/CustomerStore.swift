/// A task's customers: their records in a `RecordArena`, found by id through an open-addressed
/// index over the ids inside the records (each record starts with its id, so ids are stored once:
/// the index, the timer order and the triggers read them there).
struct CustomerStore: Sendable {
    private(set) var records = RecordArena<CustomerState>()
    /// Open addressing with linear probing; an entry is the id hash's high 32 bits over
    /// `customer + 1`, 0 for a free place.
    private var table: [UInt64] = Array(repeating: 0, count: 16)

    var count: Int { records.count }
    var current: Int { records.current }

    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        // FNV-1a, then a final mix so that the low bits (the place) depend on every byte.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        return h
    }

    /// The customer with this id, if it has a record.
    func find(_ id: String) -> Int? {
        var id = id
        return id.withUTF8 { find(UnsafeRawBufferPointer($0)) }
    }

    func find(_ id: UnsafeRawBufferPointer) -> Int? { probe(id, hash: Self.hash(id)).customer }

    /// Where `id` is in the index: its customer, or none and the free place where it would go.
    private func probe(_ id: UnsafeRawBufferPointer, hash h: UInt64) -> (customer: Int?, place: Int) {
        let mask = table.count - 1
        var k = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = table[k]
            if e == 0 { return (nil, k) }
            if e >> 32 == h >> 32 {
                let c = Int(e & 0xffff_ffff) - 1
                if withId(c, { $0.elementsEqual(id) }) { return (c, k) }
            }
            k = (k + 1) & mask
        }
    }

    /// Adds a customer whose id is not in the store; returns its number.
    mutating func add(_ state: CustomerState) -> Int {
        makeRoomInIndex()
        let c = records.append(state)
        index(c, id: state.id)
        return c
    }

    /// Adds a customer from its record's bytes (a snapshot's); `id` is the id they start with.
    mutating func add(encoded record: UnsafeRawBufferPointer, id: String) {
        makeRoomInIndex()
        records.append(encoded: record)
        index(count - 1, id: id)
    }

    /// Adds a customer from its record's bytes unless its id is already here (a snapshot that
    /// holds a customer twice is refused): one probe of the index for both.
    mutating func addIfAbsent(encoded record: UnsafeRawBufferPointer, id: String) -> Bool {
        makeRoomInIndex()
        if id.isEmpty {
            records.append(encoded: record)
            return true
        }
        var id = id
        return id.withUTF8 { utf8 in
            let h = Self.hash(UnsafeRawBufferPointer(utf8))
            let found = probe(UnsafeRawBufferPointer(utf8), hash: h)
            guard found.customer == nil else { return false }
            records.append(encoded: record)
            table[found.place] = (h >> 32) << 32 | UInt64(count)
            return true
        }
    }

    /// Grows the index before a customer is added (a rebuild indexes the records there are).
    private mutating func makeRoomInIndex() {
        if (count + 1) * 10 > table.count * 7 { rebuildIndex(size: table.count * 2) }
    }

    private mutating func index(_ c: Int, id: String) {
        // An erased customer's record keeps its place under no id.
        guard !id.isEmpty else { return }
        var id = id
        id.withUTF8 { insert(c, hash: Self.hash(UnsafeRawBufferPointer($0))) }
    }

    mutating func reserveCapacity(_ n: Int) {
        records.reserveCapacity(n)
        var size = table.count
        while (n + 1) * 10 > size * 7 { size *= 2 }
        if size > table.count { rebuildIndex(size: size) }
    }

    private mutating func insert(_ c: Int, hash h: UInt64) {
        let mask = table.count - 1
        var k = Int(truncatingIfNeeded: h) & mask
        while table[k] != 0 { k = (k + 1) & mask }
        table[k] = (h >> 32) << 32 | UInt64(c + 1)
    }

    private mutating func rebuildIndex(size: Int) {
        table = Array(repeating: 0, count: size)
        for c in 0..<count where withId(c, { !$0.isEmpty }) { insert(c, hash: withId(c) { Self.hash($0) }) }
    }

    /// Forgets customer `c` (spec 7.3's erasure): its id leaves the index (a backward-shift
    /// delete, so no tombstone is left to probe past) and its record becomes a new customer's
    /// under no id, written back at once (the id is read from the arena by the index and the
    /// timer order). The number stays taken: families and ledgers index by it.
    mutating func erase(_ c: Int) {
        let h = withId(c) { Self.hash($0) }
        let mask = table.count - 1
        var k = Int(truncatingIfNeeded: h) & mask
        while table[k] != 0 && Int(table[k] & 0xffff_ffff) - 1 != c { k = (k + 1) & mask }
        if table[k] != 0 {
            var hole = k, j = k
            while true {
                j = (j + 1) & mask
                let e = table[j]
                if e == 0 { break }
                let home = Int(truncatingIfNeeded: withId(Int(e & 0xffff_ffff) - 1) { Self.hash($0) }) & mask
                // The entry at j may move into the hole unless its home lies in (hole, j], cyclically.
                let stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j)
                if !stays {
                    table[hole] = e
                    hole = j
                }
            }
            table[hole] = 0
        }
        checkout(c)
        records[c] = CustomerState()
        records.checkIn()
    }

    // MARK: - Ids

    /// Calls `body` with customer `c`'s id bytes, read from its record (an id never changes, so
    /// the arena's copy is right even while the customer is checked out).
    func withId<R>(_ c: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        records.withRecord(c) { body($0.rawString()) }
    }

    func id(_ c: Int) -> String {
        c == current ? records[c].id : withId(c) { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether customer `a`'s id sorts before `b`'s, byte by byte (spec section 4's tie order).
    func idLess(_ a: Int, _ b: Int) -> Bool {
        withId(a) { x in withId(b) { y in x.lexicographicallyPrecedes(y) } }
    }

    // MARK: - The customer being folded

    mutating func checkout(_ c: Int) { records.checkout(c) }
    mutating func checkIn() { records.checkIn() }

    var footprint: (arena: ArenaFootprint, index: Int) {
        (records.footprint, table.heapBytes)
    }
}

extension CustomerStore: RandomAccessCollection {
    var startIndex: Int { 0 }
    var endIndex: Int { count }

    /// The checked-out customer in place; any other one as a decoded copy (read only).
    subscript(c: Int) -> CustomerState {
        _read { yield records[c] }
        _modify { yield &records[c] }
    }

    /// Customer `c`, which must be the checked-out one, in place: the fold's own reads and
    /// changes. One yield, so the compiler inlines it: the subscript above reads through a
    /// coroutine with two yields, which is called, not inlined, and on every read allocated its
    /// frame with malloc and copied the arena into it (and some callers then copied the yielded
    /// customer, retaining each of its arrays): malloc, free, memmove and retains under
    /// `fireDue`, `refusal` and `reschedule` in the profile of the zipf fold.
    subscript(current c: Int) -> CustomerState {
        _read {
            precondition(c == records.current, "customer \(c) read without a checkout")
            yield records.checkedOut
        }
        _modify { yield &records[c] }
    }

    /// `body` of customer `c`: the checked-out one read in place (as `self[current:]`), any other
    /// one decoded. A function, not a coroutine, for reads that the fold and the inspector share.
    @inline(__always)
    func read<R>(_ c: Int, _ body: (CustomerState) -> R) -> R {
        c == current ? body(records.checkedOut) : body(records.load(c))
    }
}

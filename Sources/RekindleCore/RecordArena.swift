/// A per-customer state that lives encoded in a `RecordArena` and is decoded for the customer
/// being folded. `decode` reuses the arrays of the value it decodes into, so moving from customer
/// to customer allocates nothing once their capacity is reached.
protocol ArenaRecord: Sendable {
    init()
    func encodeRecord(_ w: inout ByteWriter)
    mutating func decodeRecord(_ r: inout ArenaReader)
    /// After a snapshot's record is read: renumbers its rules into the current rule set (dropping
    /// what belongs to rules that are gone) and checks its product numbers. Returns whether the
    /// record changed.
    mutating func restored(products: Int, remap: RuleRemap) throws(SnapshotError) -> Bool
    /// Heap bytes the decoded value holds beyond its own stride (`rekindle bench state` counts a
    /// decode cache's places with it).
    var heapBytes: Int { get }
}

extension ArenaRecord {
    /// Reads the records of a snapshot section written by `RecordArena.encodeRecords`.
    static func decodeRecords(
        _ r: inout ByteReader, count: Int, products: Int, remap: RuleRemap,
        _ add: (inout Self, _ encoded: UnsafeRawBufferPointer?) throws(SnapshotError) -> Void
    ) throws(SnapshotError) {
        var record = Self()
        for k in 0..<count {
            let n = try r.count()
            let at = r.i
            var failure: SnapshotError?
            r.bytes.withUnsafeBytes { all in
                let encoded = UnsafeRawBufferPointer(rebasing: all[at..<(at + n)])
                do throws(SnapshotError) {
                    var reader = ArenaReader(encoded)
                    record.decodeRecord(&reader)
                    guard !reader.overrun, reader.i == n else {
                        throw SnapshotError("record \(k) at byte \(at): not a record of this format")
                    }
                    // A record renumbered on restore is encoded anew; any other is copied as it is.
                    let changed = try record.restored(products: products, remap: remap)
                    try add(&record, changed ? nil : encoded)
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
            r.i += n
        }
    }
}

extension RuleRemap {
    /// A rule index of a snapshot record renumbered, -1 for a rule that is gone; a number that is
    /// no rule of the snapshot is an error.
    func renumber(_ rule: inout Int32, _ changed: inout Bool) throws(SnapshotError) {
        let new = try self(rule)
        if new != rule {
            rule = new
            changed = true
        }
    }
}

extension RecordArena {
    /// Each record's length and bytes, in customer order (a snapshot section's body).
    func encodeRecords(_ w: inout ByteWriter) {
        for c in 0..<count {
            withEncoded(c) { raw in
                w.varint(UInt64(raw.count))
                w.bytes.append(contentsOf: raw)
            }
        }
    }
}

/// One record per customer, encoded back to back in one byte array: no separately allocated
/// arrays per customer (a struct of arrays per customer cost 1,254 resident bytes at 95k
/// customers with `rekindle bench state`; the records take about a tenth of that).
///
/// `checkout(c)` decodes customer `c` (unless it is still in the cache of recently decoded
/// records) into the working value that `self[c]` reads and changes in place; a changed record is
/// written back when it leaves the cache. A record that outgrows its place moves to the end,
/// and the arena is compacted when an eighth of it is records that moved. Reading a customer that
/// is not checked out decodes a copy (the inspector and snapshots do; the fold never does).
struct RecordArena<Record: ArenaRecord>: Sendable {
    /// A record's place: its offset in 8-byte units (records start on 8-byte boundaries, so an
    /// arena can reach 32 GiB) and its length; its room (`room`) follows from the length.
    struct Slot: Sendable {
        var unit: UInt32
        var length: UInt32
        var offset: Int { Int(unit) << 3 }
        var capacity: Int { Self.room(Int(length)) }

        /// The room a record of `n` bytes takes: `n` rounded up to 8 bytes below 128, and above
        /// to an eighth of the power of two below it (16 bytes from 128, 32 from 256, ...), so
        /// that a record that grows by a few bytes at every write-back moves to the end and
        /// leaves its old place as garbage every few write-backs rather than at each; a room
        /// wastes under an eighth of its record. With the changes below it (the arena reserved
        /// for the records that move until the next compaction), storing a written-back record
        /// went from 4% of the zipf fold's samples to under 1% with 4,096 cache places.
        static func room(_ n: Int) -> Int {
            let step = n < 128 ? 8 : 1 << (Int.bitWidth - n.leadingZeroBitCount - 4)
            return (n + step - 1) & ~(step - 1)
        }
    }

    private(set) var bytes: [UInt8] = []
    private var slots: [Slot] = []
    private var garbage = 0
    /// The customer checked out, -1 for none; its record is `working` while it is (its cache
    /// place `way` holds spare storage meanwhile). A stored property, so that reading and changing
    /// it in place copies nothing (an array element is copied out, with all its arrays retained).
    private(set) var current = -1
    private var way = 0
    private var working = Record()
    /// Recently checked-out records, decoded, by `customer & (cacheSize - 1)`: a customer whose
    /// events and timers follow each other closely is decoded once, not at every event (a record
    /// of hundreds of views decoded and encoded per event made a skewed stream's fold slower than
    /// with the arrays per customer). A cached record is the customer's state; the arena's copy is
    /// written when the record leaves the cache, and only if it changed.
    /// It grows with the records to at most `maxCache` places. Measured on a skewed stream of 80k
    /// customers (replay of /work/bench/zipf.jsonl, max_neighbours 200) against arrays per
    /// customer: 4,096 places made the fold 35-45% slower, 16,384 about 45%, 65,536 within about
    /// 10%; at 1M customers the 65,536 places held about 150 bytes per customer of decoded records
    /// (bench state on /work/bench/1mc.jsonl: 449 against 296 with 64 places; with the orders
    /// kept encoded and the places' spare storage bounded (`Array.empty(for:)`), 389 against 319).
    /// Sized again at 1M customers (the two caches, customers' and views', 52 and 20 bytes per
    /// customer; 385 against 314 with 64 places): fold only, 65,536 places against 16,384 and
    /// 4,096 were 20-30% faster on zipf.jsonl and bt1m.jsonl, and on 1mc.jsonl 131k events/s
    /// against 122k with 4,096, so no smaller size kept the fold's speed. Dropping an emptied
    /// list's storage took 5 bytes per customer off the places' estimate and none off the
    /// resident total (the freed small blocks stay in the heap's pages); 16-byte fired touches
    /// took 1, under the runs' noise of about 3.
    /// Places that keep
    /// the record whose decoding saves most (small records folded beside a big one until their
    /// decoding cost as much as its) did not let it shrink: with 2,048 or 8,192 places the zipf
    /// fold was still 55-70% slower. Records that decode lazily would.
    private var cache: [Record] = []
    private var owner: [Int32] = []
    private var dirty: [Bool] = []
    private var cacheSize = 0
    static var maxCache: Int { RecordArenaCache.maxPlaces }
    private var writer = ByteWriter()

    init() { resizeCache(Swift.min(64, Self.maxCache)) }

    /// Where customer `c`'s decoded record is, if it is in the cache.
    @inline(__always) private func cached(_ c: Int) -> Int? {
        let w = c & (cacheSize - 1)
        return owner[w] == Int32(truncatingIfNeeded: c) ? w : nil
    }

    /// Writes the changed records back and starts an empty cache of `size` places.
    private mutating func resizeCache(_ size: Int) {
        let was = current
        checkIn()
        current = -1
        cacheSize = size
        cache = Array(repeating: Record(), count: size)
        owner = Array(repeating: -1, count: size)
        dirty = Array(repeating: false, count: size)
        if was >= 0 { checkout(was) }
    }

    var count: Int { slots.count }

    mutating func reserveCapacity(_ n: Int) { slots.reserveCapacity(n) }

    /// Appends a record; returns its number.
    @discardableResult
    mutating func append(_ record: Record) -> Int {
        if slots.count >= cacheSize && cacheSize < Self.maxCache { resizeCache(cacheSize * 2) }
        slots.append(Slot(unit: 0, length: 0))
        write(record, to: slots.count - 1)
        return slots.count - 1
    }

    /// Appends a record given as its encoded bytes (a snapshot's, already checked).
    mutating func append(encoded record: UnsafeRawBufferPointer) {
        if slots.count >= cacheSize && cacheSize < Self.maxCache { resizeCache(cacheSize * 2) }
        precondition(record.count <= Int(UInt32.max) && bytes.count >> 3 <= Int(UInt32.max), "a record arena over 32 GiB")
        let room = Slot.room(record.count)
        slots.append(Slot(unit: UInt32(bytes.count >> 3), length: UInt32(record.count)))
        bytes.append(contentsOf: record)
        bytes.append(contentsOf: repeatElement(0, count: room - record.count))
    }

    /// Calls `body` with a reader at the start of record `c` as it is in the arena.
    func withRecord<R>(_ c: Int, _ body: (inout ArenaReader) -> R) -> R {
        bytes.withUnsafeBytes { a in
            var r = ArenaReader(a, at: slots[c].offset)
            return body(&r)
        }
    }

    /// Calls `body` with record `c`'s encoded bytes (a cached one as it is now).
    func withEncoded<R>(_ c: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        if let w = cached(c), dirty[w] {
            var writer = ByteWriter()
            if c == current { working.encodeRecord(&writer) } else { cache[w].encodeRecord(&writer) }
            return writer.bytes.withUnsafeBytes(body)
        }
        return bytes.withUnsafeBytes { a in
            body(UnsafeRawBufferPointer(rebasing: a[slots[c].offset..<(slots[c].offset + Int(slots[c].length))]))
        }
    }

    /// Makes `c` the record that `self[c]` reads and changes in place.
    mutating func checkout(_ c: Int) {
        guard c != current else { return }
        // The current record goes home to its cache place (records are swapped, never copied).
        if current >= 0 { swap(&working, &cache[way]) }
        current = c
        way = c & (cacheSize - 1)
        if owner[way] == Int32(truncatingIfNeeded: c) {
            swap(&working, &cache[way])
            return
        }
        // Decoded into the evicted record's storage, which then waits in the place as spare. A
        // changed evicted record is encoded as `working`: encoding it in its cache place copied it
        // out first (a retain of each of its arrays), even through the array's buffer pointer.
        swap(&working, &cache[way])
        if owner[way] >= 0 && dirty[way] { write(working: Int(owner[way])) }
        bytes.withUnsafeBytes { a in
            var r = ArenaReader(a, at: slots[c].offset)
            working.decodeRecord(&r)
        }
        owner[way] = Int32(truncatingIfNeeded: c)
        dirty[way] = false
    }

    /// Writes every changed record in the cache back to the arena (the cache keeps them).
    mutating func checkIn() {
        for w in owner.indices where owner[w] >= 0 && dirty[w] {
            if Int(owner[w]) == current { write(working: Int(owner[w])) } else { write(cache: w, to: Int(owner[w])) }
            dirty[w] = false
        }
    }

    private mutating func write(cache w: Int, to c: Int) {
        var encoder = ByteWriter()
        swap(&encoder, &writer)
        encoder.bytes.removeAll(keepingCapacity: true)
        cache[w].encodeRecord(&encoder)
        store(encoder.bytes, to: c)
        swap(&encoder, &writer)
    }

    private mutating func write(working c: Int) {
        writer.bytes.removeAll(keepingCapacity: true)
        working.encodeRecord(&writer)
        store(writer.bytes, to: c)
    }

    private mutating func write(_ record: Record, to c: Int) {
        writer.bytes.removeAll(keepingCapacity: true)
        record.encodeRecord(&writer)
        store(writer.bytes, to: c)
    }

    /// Puts record `c`'s encoded bytes in its place, or at the end when they outgrow it.
    private mutating func store(_ encoded: [UInt8], to c: Int) {
        let n = encoded.count
        precondition(n <= Int(UInt32.max), "a customer record over 4 GiB")
        var slot = slots[c]
        let room = Slot.room(n)
        if room > slot.capacity {
            // A record that grows past its room moves to the end; its old place is garbage.
            garbage += slot.capacity
            precondition(bytes.count >> 3 <= Int(UInt32.max), "a record arena over 32 GiB")
            slot.unit = UInt32(bytes.count >> 3)
            bytes.append(contentsOf: repeatElement(0, count: room))
        } else {
            // A record that shrinks keeps its place; the room it gives up is garbage.
            garbage += slot.capacity - room
        }
        slot.length = UInt32(n)
        slots[c] = slot
        encoded.withUnsafeBytes { src in
            bytes.withUnsafeMutableBytes { dst in
                dst.baseAddress!.advanced(by: slot.offset).copyMemory(from: src.baseAddress!, byteCount: n)
            }
        }
        if garbage > 1 << 16 && garbage > bytes.count / 8 { compact() }
    }

    /// Copies the records into a new arena, in customer order.
    private mutating func compact() {
        var fresh: [UInt8] = []
        // Room for the records that move until the next compaction (when an eighth of the arena
        // is garbage), so that the arena is not copied again by growing in between; the room that
        // is not written is not resident.
        fresh.reserveCapacity(bytes.count - garbage + bytes.count / 6)
        bytes.withUnsafeBytes { old in
            for c in slots.indices {
                let s = slots[c]
                slots[c].unit = UInt32(fresh.count >> 3)
                fresh.append(contentsOf: UnsafeRawBufferPointer(rebasing: old[s.offset..<(s.offset + s.capacity)]))
            }
        }
        bytes = fresh
        garbage = 0
    }

    /// A copy of record `c`.
    func load(_ c: Int) -> Record {
        if c == current { return working }
        if let w = cached(c) { return cache[w] }
        var record = Record()
        withRecord(c) { record.decodeRecord(&$0) }
        return record
    }

    /// Bytes held: the arena's written bytes and its capacity past them, the records in it, the
    /// records that moved, the slots, and the decode cache (its places, the storage of the records
    /// decoded into them, the writer). The bytes past the written ones are reserved, not yet
    /// touched, so not resident.
    var footprint: ArenaFootprint {
        var cached = cache.capacity * MemoryLayout<Record>.stride + owner.heapBytes + dirty.heapBytes
        cached += working.heapBytes + writer.bytes.heapBytes
        for w in cache.indices { cached += cache[w].heapBytes }
        return (
            bytes.count, bytes.capacity - bytes.count, slots.reduce(0) { $0 + Int($1.length) }, garbage,
            slots.capacity * MemoryLayout<Slot>.stride, cached
        )
    }
}

/// What a `RecordArena` holds, in bytes (its `footprint`).
typealias ArenaFootprint = (written: Int, reserved: Int, live: Int, garbage: Int, slots: Int, cache: Int)

/// The most places a decode cache grows to (a power of two), task-local so that a test can fold
/// with a cache of a few places and compare.
enum RecordArenaCache {
    @TaskLocal static var maxPlaces = 65536
}

extension RecordArena: RandomAccessCollection {
    var startIndex: Int { 0 }
    var endIndex: Int { slots.count }

    /// The checked-out record, read in place.
    var checkedOut: Record {
        _read { yield working }
    }

    /// The checked-out record in place; any other one as a decoded copy (read only).
    subscript(c: Int) -> Record {
        _read {
            if c == current { yield working } else { yield load(c) }
        }
        _modify {
            precondition(c == current, "record \(c) changed without a checkout")
            dirty[way] = true
            yield &working
        }
    }
}

/// Reads what `ByteWriter` wrote into an arena or a snapshot. It never reads past its bytes: a
/// read that would yields zeros and sets `overrun`, which a restore checks (a record in the arena
/// was written by the arena and never overruns).
struct ArenaReader {
    let base: UnsafeRawPointer
    let end: Int
    var i: Int
    private(set) var overrun = false

    init(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0) {
        base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!
        end = bytes.count
        i = offset
    }

    @inline(__always) mutating func u8() -> UInt8 {
        guard i < end else {
            overrun = true
            return 0
        }
        defer { i += 1 }
        return base.load(fromByteOffset: i, as: UInt8.self)
    }

    /// Marks the bytes as not a record (a value out of its range).
    mutating func fail() { overrun = true }

    @inline(__always) mutating func varint() -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = u8()
            v |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return v }
            shift += 7
        }
    }

    /// A count of things that take at least a byte each: more than the bytes left is an overrun.
    @inline(__always) mutating func count() -> Int {
        let n = varint()
        guard n <= UInt64(end - i) else {
            overrun = true
            return 0
        }
        return Int(n)
    }

    @inline(__always) mutating func int() -> Int64 {
        let z = varint()
        return Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1)))
    }

    @inline(__always) mutating func int32() -> Int32 { Int32(truncatingIfNeeded: int()) }

    mutating func double() -> Double {
        guard end - i >= 8 else {
            overrun = true
            return 0
        }
        defer { i += 8 }
        return Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
    }

    /// `ByteWriter.compactDouble`.
    mutating func compactDouble() -> Double {
        let z = varint()
        switch z & 3 {
        case 0: return Double(Int64(bitPattern: (z >> 3) ^ (0 &- ((z >> 2) & 1))))
        case 1: return Double(Int64(bitPattern: (z >> 3) ^ (0 &- ((z >> 2) & 1)))) / 100
        default: return double()
        }
    }

    mutating func rawString() -> UnsafeRawBufferPointer {
        let n = count()
        defer { i += n }
        return UnsafeRawBufferPointer(start: base + i, count: n)
    }

    mutating func string() -> String { String(decoding: rawString(), as: UTF8.self) }

    mutating func ints(into a: inout [Int32]) {
        let n = count()
        a.empty(for: n)
        for _ in 0..<n { a.append(int32()) }
    }
}

extension Array {
    /// Empties an array that `n` decoded elements go into. It keeps its storage, so that moving
    /// from record to record allocates little, when that holds `n` elements and not more than
    /// twice as many and 2 more (one allocation when it does not): a decode cache place holds
    /// the storage of the last record decoded into it, for as long as the cache lives, and at 1M
    /// customers the 65,536 places are most of what is resident besides the records. Keeping up
    /// to twice `n` and 8 more, a place of a customer of a few events held about 1.7 KB (bench
    /// state on /work/bench/1mc.jsonl: 420 bytes per customer against 319 with 64 places); with
    /// twice and 2 more, 389; with half again and 1 more, 387, but restoring a snapshot of 1M
    /// customers (which decodes every record into one value) was then about 0.6 s slower.
    @inline(__always) mutating func empty(for n: Int) {
        if capacity < n || capacity > 2 * n + 2 {
            self = []
            reserveCapacity(n)
        } else {
            removeAll(keepingCapacity: true)
        }
    }
}

extension Array {
    /// The heap bytes of the array's storage, estimated as glibc's malloc takes them: a 32-byte
    /// header and the elements, plus malloc's size word, in 16-byte units (0 for no storage).
    var heapBytes: Int { capacity == 0 ? 0 : (32 + capacity * MemoryLayout<Element>.stride + 8 + 15) & ~15 }
}

extension String {
    /// The heap bytes of the string's storage (0 for a small string, held inline up to 15 bytes).
    var heapBytes: Int { utf8.count <= 15 ? 0 : (32 + utf8.count + 1 + 8 + 15) & ~15 }
}

extension ByteWriter {
    /// A double in as few bytes as it exactly takes: whole numbers and whole cents below 2^50 as a
    /// tagged varint (prices and totals mostly are), anything else as its 8 bytes after a tag.
    mutating func compactDouble(_ v: Double) {
        if let i = Int64(exactly: v), i.magnitude < 1 << 50, v.sign == .plus || i != 0 {
            varint(UInt64(bitPattern: (i << 1) ^ (i >> 63)) << 2)
        } else if let c = Int64(exactly: (v * 100).rounded()), c.magnitude < 1 << 50, Double(c) / 100 == v, v.sign == .plus || c != 0 {
            varint(UInt64(bitPattern: (c << 1) ^ (c >> 63)) << 2 | 1)
        } else {
            varint(2)
            double(v)
        }
    }
}


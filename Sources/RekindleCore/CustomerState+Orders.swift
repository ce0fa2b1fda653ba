extension CustomerState {
    /// A customer's orders kept as their record bytes (the bytes `encodeRecord` writes after the
    /// orders' count), read and changed one order at a time. Decoding a customer copies them as
    /// they are and encoding copies them back: an order's id and event ids are Strings, and
    /// decoding and encoding every order of a customer at every checkout that missed the decode
    /// cache was the largest part of a checkout (on /work/bench/zipf.jsonl the orders are about
    /// 84 of a record's bytes on average, up to 900 for the busiest customers). An order is
    /// decoded where an event reads it: an order event's own order, a recommendation's products.
    struct OrderList: Sendable, Sequence, ExpressibleByArrayLiteral {
        static let noStatus: UInt8 = 0xff
        static let converted: UInt8 = 1, creditedToModel: UInt8 = 2, everCompleted: UInt8 = 4

        /// Each order: its id, its status (`noStatus` for none), its flags, its event ids, its products.
        private(set) var bytes: [UInt8] = []
        private(set) var count = 0

        init() {}

        /// The orders in the order given.
        init(_ orders: [OrderRecord]) {
            for o in orders { append(o) }
        }

        init(arrayLiteral orders: OrderRecord...) { self.init(orders) }

        var isEmpty: Bool { count == 0 }

        static func encode(_ o: OrderRecord, _ w: inout ByteWriter) {
            w.string(o.orderId)
            w.u8(o.status?.rawValue ?? noStatus)
            w.u8((o.converted ? converted : 0) | (o.creditedToModel ? creditedToModel : 0) | (o.everCompleted ? everCompleted : 0))
            w.varint(UInt64(o.eventIds.count))
            for e in o.eventIds { w.string(e) }
            w.ints(o.products)
        }

        /// Steps over one order; marks the reader overrun on an unknown status.
        static func skip(_ r: inout ArenaReader) {
            _ = r.rawString()
            skipAfterId(&r)
        }

        /// Steps over the rest of an order once its id is read: status (checked), flags, event
        /// ids, products.
        static func skipAfterId(_ r: inout ArenaReader) {
            let status = r.u8()
            if status != noStatus && OrderStatus(rawValue: status) == nil { r.fail() }
            _ = r.u8()
            skipEventIds(&r)
            for _ in 0..<r.count() { _ = r.varint() }
        }

        static func skipEventIds(_ r: inout ArenaReader) {
            for _ in 0..<r.count() { _ = r.rawString() }
        }

        static func decode(_ r: inout ArenaReader) -> OrderRecord {
            var o = OrderRecord(orderId: r.string())
            let status = r.u8()
            o.status = status == noStatus ? nil : OrderStatus(rawValue: status)
            let f = r.u8()
            o.converted = f & converted != 0
            o.creditedToModel = f & creditedToModel != 0
            o.everCompleted = f & everCompleted != 0
            let events = r.count()
            o.eventIds.reserveCapacity(events)
            for _ in 0..<events { o.eventIds.append(r.string()) }
            r.ints(into: &o.products)
            return o
        }

        /// Takes `n` orders from a record's bytes (already stepped over and checked).
        mutating func load(count n: Int, _ encoded: UnsafeRawBufferPointer) {
            bytes.empty(for: encoded.count)
            bytes.append(contentsOf: encoded)
            count = n
        }

        func encode(_ w: inout ByteWriter) {
            w.varint(UInt64(count))
            w.bytes.append(contentsOf: bytes)
        }

        private func read<R>(_ body: (inout ArenaReader) -> R) -> R {
            bytes.withUnsafeBytes { raw in
                var r = ArenaReader(raw)
                return body(&r)
            }
        }

        /// Where order `k` starts and ends in `bytes`.
        private func range(_ k: Int) -> Range<Int> {
            read { r in
                for _ in 0..<k { Self.skip(&r) }
                let start = r.i
                Self.skip(&r)
                return start..<r.i
            }
        }

        subscript(k: Int) -> OrderRecord {
            precondition(k >= 0 && k < count, "order \(k) of \(count)")
            return read { r in
                for _ in 0..<k { Self.skip(&r) }
                return Self.decode(&r)
            }
        }

        /// The order whose id equals `id` as Strings do (`==`, canonical equivalence): equal bytes
        /// are equal; ASCII bytes that differ are not; anything else is compared as Strings.
        func index(of id: String) -> Int? {
            var id = id
            return id.withUTF8 { want in
                read { r in
                    for k in 0..<count {
                        let have = r.rawString()
                        if have.elementsEqual(UnsafeRawBufferPointer(want)) { return k }
                        if !(have.allSatisfy { $0 < 0x80 } && want.allSatisfy { $0 < 0x80 })
                            && String(decoding: have, as: UTF8.self) == String(decoding: want, as: UTF8.self)
                        {
                            return k
                        }
                        Self.skipAfterId(&r)
                    }
                    return nil
                }
            }
        }

        /// Adds `order` at the end.
        mutating func append(_ order: OrderRecord) {
            var w = ByteWriter()
            swap(&w.bytes, &bytes)
            Self.encode(order, &w)
            swap(&w.bytes, &bytes)
            count += 1
        }

        /// Puts `order` back at `k`, or inserts it before the first order whose id's bytes sort
        /// after its own.
        mutating func store(_ order: OrderRecord, at k: Int?) {
            var w = ByteWriter()
            Self.encode(order, &w)
            if let k {
                bytes.replaceSubrange(range(k), with: w.bytes)
                return
            }
            let place = read { r in
                var id = order.orderId
                return id.withUTF8 { mine in
                    for _ in 0..<count {
                        let start = r.i
                        let other = r.rawString()
                        if UnsafeRawBufferPointer(mine).lexicographicallyPrecedes(other) { return start }
                        r.i = start
                        Self.skip(&r)
                    }
                    return r.i
                }
            }
            bytes.insert(contentsOf: w.bytes, at: place)
            count += 1
        }

        /// Appends the products of every order that ever completed to `known`, in order.
        func completedProducts(into known: inout [Int32]) {
            read { r in
                for _ in 0..<count {
                    _ = r.rawString(); _ = r.u8()
                    let f = r.u8()
                    Self.skipEventIds(&r)
                    let n = r.count()
                    if f & Self.everCompleted != 0 {
                        for _ in 0..<n { known.append(r.int32()) }
                    } else {
                        for _ in 0..<n { _ = r.varint() }
                    }
                }
            }
        }

        /// Whether every product of every order satisfies `body` (a restore's check), read without
        /// decoding the orders (their ids and event ids) for it.
        func allProducts(_ body: (Int32) -> Bool) -> Bool {
            read { r in
                for _ in 0..<count {
                    _ = r.rawString(); _ = r.u8(); _ = r.u8()
                    Self.skipEventIds(&r)
                    for _ in 0..<r.count() where !body(r.int32()) { return false }
                }
                return true
            }
        }

        struct Iterator: IteratorProtocol {
            let list: OrderList
            var at = 0
            var left: Int

            mutating func next() -> OrderRecord? {
                guard left > 0 else { return nil }
                left -= 1
                return list.bytes.withUnsafeBytes { raw in
                    var r = ArenaReader(raw, at: at)
                    defer { at = r.i }
                    return OrderList.decode(&r)
                }
            }
        }

        func makeIterator() -> Iterator { Iterator(list: self, left: count) }
        var underestimatedCount: Int { count }
    }
}

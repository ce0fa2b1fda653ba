/// A customer's record in the task's `CustomerStore`: the id first (the index and the timer order
/// read it there), then the facts and the lists, as varints (zig-zag for signed values) so that
/// small counts and product numbers take a byte. An in-memory layout, not a snapshot format:
/// snapshots write customers with `CustomerState.encode` and keep their own versions.
extension CustomerState: ArenaRecord {
    private static let vipCard: UInt8 = 1, hasFirstSeen: UInt8 = 2, hasLastSignal: UInt8 = 4

    init() { self.init(id: "") }

    func encodeRecord(_ w: inout ByteWriter) {
        w.string(id)
        var flags: UInt8 = facts.vipCard ? Self.vipCard : 0
        if firstSeen != nil { flags |= Self.hasFirstSeen }
        if lastSignal != nil { flags |= Self.hasLastSignal }
        w.u8(flags)
        w.varint(UInt64(facts.completedOrders))
        // With no purchase the facts are zero (`recomputeFacts`).
        if facts.completedOrders > 0 {
            w.int(facts.lastPurchaseAt); w.int(facts.firstPurchaseAt); w.compactDouble(facts.totalSpent)
        }
        if let t = firstSeen { w.int(t) }
        if let t = lastSignal { w.int(t) }
        orders.encode(&w)
        w.varint(UInt64(purchases.count))
        for p in purchases { w.string(p.orderId); w.int(p.at); w.compactDouble(p.total) }
        w.varint(UInt64(views.count))
        for v in views { w.int(v.product); w.int(v.at); w.int(v.seq) }
        w.ints(viewedEver)
        w.varint(UInt64(fired.count))
        for t in fired { w.int(t.rule); w.int(t.anchor); w.int(t.touch) }
        w.varint(UInt64(openTouches.count))
        // The window's end as its length: a few days in milliseconds is shorter than an instant.
        for t in openTouches { w.int(t.rule); w.int(t.touch); w.int(t.firedAt); w.int(t.windowEnd &- t.firedAt) }
    }

    mutating func decodeRecord(_ r: inout ArenaReader) {
        id = r.string()
        let flags = r.u8()
        facts.vipCard = flags & Self.vipCard != 0
        facts.completedOrders = r.count()
        if facts.completedOrders > 0 {
            facts.lastPurchaseAt = r.int(); facts.firstPurchaseAt = r.int(); facts.totalSpent = r.compactDouble()
        } else {
            facts.lastPurchaseAt = 0; facts.firstPurchaseAt = 0; facts.totalSpent = 0
        }
        firstSeen = flags & Self.hasFirstSeen != 0 ? r.int() : nil
        lastSignal = flags & Self.hasLastSignal != 0 ? r.int() : nil

        // The orders are copied as they are (`OrderList`), once stepped over and checked.
        let n = r.count()
        let start = r.i
        for _ in 0..<n { OrderList.skip(&r) }
        orders.load(count: n, UnsafeRawBufferPointer(start: r.base + start, count: r.i - start))
        let nPurchases = r.count()
        purchases.empty(for: nPurchases)
        for _ in 0..<nPurchases { purchases.append(Purchase(orderId: r.string(), at: r.int(), total: r.compactDouble())) }
        let nViews = r.count()
        views.empty(for: nViews)
        for _ in 0..<nViews { views.append(View(product: r.int32(), at: r.int(), seq: r.int())) }
        r.ints(into: &viewedEver)
        let nFired = r.count()
        fired.empty(for: nFired)
        for _ in 0..<nFired { fired.append(FiredTouch(rule: r.int32(), anchor: r.int(), touch: r.int32())) }
        let nOpen = r.count()
        openTouches.empty(for: nOpen)
        for _ in 0..<nOpen {
            let rule = r.int32(), touch = r.int32(), firedAt = r.int()
            openTouches.append(OpenTouch(rule: rule, touch: touch, firedAt: firedAt, windowEnd: firedAt &+ r.int()))
        }
    }

    var heapBytes: Int {
        id.heapBytes + orders.bytes.heapBytes + purchases.heapBytes + purchases.reduce(0) { $0 + $1.orderId.heapBytes }
            + views.heapBytes + viewedEver.heapBytes + fired.heapBytes + openTouches.heapBytes
    }

    mutating func restored(products: Int, remap: RuleRemap) throws(SnapshotError) -> Bool {
        let known = 0..<Int32(clamping: products)
        guard orders.allProducts(known.contains), views.allSatisfy({ known.contains($0.product) }),
            viewedEver.allSatisfy(known.contains)
        else { throw SnapshotError("customer \(id): a product number past the snapshot's \(products) products") }
        var changed = false
        for k in fired.indices { try remap.renumber(&fired[k].rule, &changed) }
        for k in openTouches.indices { try remap.renumber(&openTouches[k].rule, &changed) }
        fired.removeAll { $0.rule < 0 }
        openTouches.removeAll { $0.rule < 0 }
        return changed
    }
}

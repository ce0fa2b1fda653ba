@testable import RekindleCore
import Testing

@Suite struct RecordArenaTests {
    @Test func customersAreFoundByIdAfterTheIndexGrowsAndRecordsMove() {
        var store = CustomerStore()
        // (An empty id is an erased customer's record, never indexed: a real id is not empty.)
        let ids = (0..<5_000).map { "customer-\($0 * 7919 % 100_003)" } + ["x", "ä", "a-much-longer-customer-id-than-fifteen-bytes"]
        for id in ids { _ = store.add(CustomerState(id: id)) }
        // Grow every record past its place many times, so records move and the arena compacts.
        for round in 0..<40 {
            for c in stride(from: round % 3, to: ids.count, by: 3) {
                store.checkout(c)
                store[c].viewedEver.append(Int32(round))
                store[c].fired.append(.init(rule: 1, anchor: Millis(round) * 1_000_000_007, touch: 2))
            }
        }
        store.checkIn()
        for (c, id) in ids.enumerated() {
            #expect(store.find(id) == c)
            #expect(store.id(c) == id)
            let s = store[c]
            #expect(s.id == id)
            #expect(s.viewedEver.count == (0..<40).filter { $0 % 3 == c % 3 }.count)
            #expect(s.fired.last?.anchor == Millis((0..<40).last { $0 % 3 == c % 3 }!) * 1_000_000_007)
        }
        #expect(store.find("customer-missing") == nil)
        #expect(store.find("") == nil)
        #expect(store.footprint.arena.garbage <= store.footprint.arena.written / 8 + 1 << 16)
    }

    /// `bench state`'s breakdown: a decode cache counts the storage of the records decoded into
    /// it, which an arena's bytes do not show (400 views take 9,600 bytes decoded, under 4,000 encoded).
    @Test func theDecodeCacheFootprintCountsTheDecodedRecordsStorage() {
        var store = CustomerStore()
        for c in 0..<3 { _ = store.add(CustomerState(id: "c\(c)")) }
        let empty = store.footprint.arena.cache
        store.checkout(0)
        for p in 0..<400 { store[0].views.append(.init(product: Int32(p), at: Millis(p), seq: Int64(p))) }
        store.checkout(1)
        store.checkIn()
        let f = store.footprint.arena
        #expect(f.cache - empty >= 400 * MemoryLayout<CustomerState.View>.stride)
        #expect(f.live < 4_000 && f.written >= f.live && f.written + f.reserved >= f.written)
    }

    /// Customers whose cache places collide, a big record among small ones, so that each place
    /// passes from a record of 400 views to records of none (whose decoding gives the big one's
    /// storage up) and back: every change is kept, and a record read or encoded while it is
    /// checked out is the changed one.
    @Test func customersSharingACachePlaceKeepEveryChangeAsBigAndSmallRecordsTakeTurns() {
        typealias Arena = RecordArena<CustomerState>
        var store = CustomerStore()
        let n = 3 * Arena.maxCache + 5
        for c in 0..<n { _ = store.add(CustomerState(id: "c\(c)")) }
        // Customer 0's record is big: 400 views.
        store.checkout(0)
        for p in 0..<400 { store[0].views.append(.init(product: Int32(p), at: Millis(p), seq: Int64(p))) }
        let colliding = [0, Arena.maxCache, 2 * Arena.maxCache, 3 * Arena.maxCache, 1, Arena.maxCache + 1]
        for round in 0..<200 {
            for c in colliding {
                store.checkout(c)
                store[c].fired.append(.init(rule: Int32(round), anchor: Millis(c), touch: 1))
                // Read and encoded while checked out and changed: the change is there.
                #expect(store[c].fired.count == round + 1)
                store.records.withEncoded(c) { raw in
                    var r = ArenaReader(raw)
                    var back = CustomerState()
                    back.decodeRecord(&r)
                    #expect(back.fired.count == round + 1 && back.id == "c\(c)")
                }
            }
        }
        // A fresh checkout of another customer writes the last one back; then all are checked in.
        store.checkout(7)
        for c in colliding {
            let s = store[c]
            #expect(s.fired.map(\.rule) == (0..<200).map { Int32($0) })
            #expect(s.views.count == (c == 0 ? 400 : 0))
        }
        store.checkIn()
        var w = ByteWriter()
        store.records.encodeRecords(&w)
        var r = ByteReader(w.bytes)
        var seen = 0
        do {
            try CustomerState.decodeRecords(&r, count: n, products: 400, remap: RuleRemap(map: (0..<200).map { Int32($0) })) { record, _ in
                if colliding.contains(seen) { #expect(record.fired.count == 200) }
                seen += 1
            }
        } catch {
            Issue.record("the encoded records do not read back: \(error)")
        }
        #expect(seen == n)
    }

    @Test func aCustomerRecordRoundTripsEveryField() {
        var s = CustomerState(id: "c-1")
        s.facts.completedOrders = 2; s.facts.lastPurchaseAt = 1_767_225_600_123; s.facts.firstPurchaseAt = -5
        s.facts.totalSpent = 0.1 + 0.2; s.facts.vipCard = true
        s.firstSeen = -62_135_596_800_000; s.lastSignal = 253_402_300_799_999
        var o = CustomerState.OrderRecord(orderId: "o-ä")
        o.status = .returned; o.eventIds = ["e1", "e2"]; o.products = [3, 0, Int32.max]
        o.converted = true; o.everCompleted = true
        s.orders = [o, CustomerState.OrderRecord(orderId: "o2")]
        s.purchases = [.init(orderId: "o-ä", at: 7, total: 889.5), .init(orderId: "o2", at: 8, total: -0.0)]
        s.views = [.init(product: 4, at: 9, seq: 10)]
        s.viewedEver = [4, 5]
        s.fired = [.init(rule: 0, anchor: .min, touch: 1)]
        s.openTouches = [.init(rule: 2, touch: 3, firedAt: 100, windowEnd: .max)]
        var store = CustomerStore()
        _ = store.add(CustomerState(id: "other"))
        let c = store.add(s)
        let back = store[c]
        #expect(back.id == s.id)
        #expect(back.facts == s.facts)
        #expect(back.facts.totalSpent.bitPattern == s.facts.totalSpent.bitPattern)
        #expect(back.firstSeen == s.firstSeen && back.lastSignal == s.lastSignal)
        #expect(back.orders.map(\.orderId) == ["o-ä", "o2"])
        #expect(back.orders[0].status == .returned && back.orders[1].status == nil)
        #expect(back.orders[0].eventIds == ["e1", "e2"] && back.orders[0].products == [3, 0, Int32.max])
        #expect(back.orders[0].converted && !back.orders[0].creditedToModel && back.orders[0].everCompleted)
        #expect(back.purchases.map(\.total.bitPattern) == [(889.5).bitPattern, (-0.0).bitPattern])
        #expect(back.views.map(\.seq) == [10] && back.viewedEver == [4, 5])
        #expect(back.fired == s.fired)
        #expect(back.openTouches.map(\.windowEnd) == [.max])
    }

    @Test(arguments: [0.0, -0.0, 1.0, -1.0, 889.5, 0.1 + 0.2, 12_345.67, -0.01, 1e300, .leastNonzeroMagnitude, .infinity, .pi, 1_125_899_906_842_624.0])
    func aCompactDoubleKeepsEveryBit(_ v: Double) {
        var w = ByteWriter()
        w.compactDouble(v)
        w.compactDouble(.nan)
        w.bytes.withUnsafeBytes { raw in
            var r = ArenaReader(raw, at: 0)
            #expect(r.compactDouble().bitPattern == v.bitPattern)
            #expect(r.compactDouble().isNaN)
            #expect(r.i == w.bytes.count)
        }
    }

    @Test func wholeNumbersAndCentsTakeFewBytes() {
        for v in [7960.0, 889.5, 2589.99] {
            var w = ByteWriter()
            w.compactDouble(v)
            #expect(w.bytes.count <= 4)
        }
    }
}

@testable import RekindleCore
import Testing

/// `CustomerState.OrderList` (orders kept as their record bytes) against the array of decoded
/// orders it replaced, and a fold whose decode caches have two places against one with the
/// default cache.
@Suite struct OrderListTests {
    typealias Order = CustomerState.OrderRecord

    /// A small deterministic generator (the same steps on every run).
    struct Steps {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
    }

    static func same(_ a: Order, _ b: Order) -> Bool {
        a.orderId.utf8.elementsEqual(b.orderId.utf8) && a.status == b.status && a.eventIds == b.eventIds && a.products == b.products
            && a.converted == b.converted && a.creditedToModel == b.creditedToModel && a.everCompleted == b.everCompleted
    }

    /// Orders are inserted in id byte order and found by id as Strings compare (the two spellings
    /// of "café" are one order), replaced in place, read one by one and in order, and their
    /// completed products listed in order, as the array of orders did.
    @Test func anOrderListReadsAsTheArrayOfDecodedOrders() {
        let ids = ["o1", "o10", "o2", "caf\u{e9}", "cafe\u{301}", "an-order-id-longer-than-fifteen-bytes-ä", "", "O"]
        var list = CustomerState.OrderList()
        var model: [Order] = []
        var steps = Steps(state: 7)
        for step in 0..<600 {
            let id = ids[steps.next(ids.count)]
            let k = list.index(of: id)
            #expect(k == model.firstIndex { $0.orderId == id }, "step \(step): \(id)")
            var order = k.map { list[$0] } ?? Order(orderId: id)
            if let k { #expect(Self.same(order, model[k])) }
            order.eventIds.append("e\(step)")
            order.status = steps.next(6) == 5 ? nil : OrderStatus.allCases[steps.next(5)]
            if steps.next(2) == 0 { order.products = (0..<steps.next(4)).map { _ in Int32(steps.next(300)) - 1 } }
            order.converted = steps.next(2) == 0
            order.creditedToModel = steps.next(2) == 0
            order.everCompleted = order.everCompleted || order.status == .completed
            list.store(order, at: k)
            if let k {
                model[k] = order
            } else {
                model.insert(order, at: model.firstIndex { RuleSet.byteLess(order.orderId, $0.orderId) } ?? model.count)
            }
            #expect(list.count == model.count)
            #expect(zip(list, model).allSatisfy(Self.same))
            var known: [Int32] = [9]
            list.completedProducts(into: &known)
            #expect(known == [9] + model.filter(\.everCompleted).flatMap(\.products))
            #expect(list.allProducts { $0 >= 0 } == model.allSatisfy { $0.products.allSatisfy { $0 >= 0 } })
            #expect(list.allProducts { _ in true })
        }
        #expect(list.count == ids.count - 1, "the two spellings of café are one order")
        // Through a customer record and back.
        var s = CustomerState(id: "c")
        s.orders = list
        var w = ByteWriter()
        s.encodeRecord(&w)
        w.bytes.withUnsafeBytes { raw in
            var r = ArenaReader(raw)
            var back = CustomerState()
            back.decodeRecord(&r)
            #expect(!r.overrun && r.i == raw.count)
            #expect(back.orders.bytes == list.bytes && zip(back.orders, model).allSatisfy(Self.same))
        }
    }

    @Test func aRecordWithAnUnknownOrderStatusIsNotARecord() {
        var s = CustomerState(id: "c")
        s.orders = [Order(orderId: "o1", status: .paid)]
        var w = ByteWriter()
        s.encodeRecord(&w)
        // The status byte follows the id's length and bytes ("c"), the flags, the facts'
        // count, the orders' count and the order id's length and bytes ("o1").
        let at = 2 + 1 + 1 + 1 + 3
        #expect(w.bytes[at] == OrderStatus.paid.rawValue)
        w.bytes[at] = 9
        w.bytes.withUnsafeBytes { raw in
            var r = ArenaReader(raw)
            var back = CustomerState()
            back.decodeRecord(&r)
            #expect(r.overrun)
        }
    }

    /// The same events folded with decode caches of two places (every checkout of another
    /// customer decodes, and every change is encoded back) and with the default cache: the same
    /// outputs and the same snapshot.
    @Test func aFoldWithTwoCachePlacesEqualsOneWithTheDefaultCache() {
        func fold() -> (outputs: [Output], state: [UInt8]) {
            var s = Scenario()
            var steps = Steps(state: 11)
            var t = T0
            for _ in 0..<4_000 {
                t += Millis(steps.next(40)) * minute
                let customer = "c\(steps.next(150))"
                switch steps.next(5) {
                case 0, 1: s.view("p\(steps.next(30))", at: t, customer: customer)
                case 2:
                    let status = [OrderStatus.created, .paid, .completed, .completed, .returned][steps.next(5)]
                    s.order("\(customer)-o\(steps.next(4))", status, at: t, customer: customer, total: Double(steps.next(500)),
                        items: (0..<steps.next(3)).map { _ in "p\(steps.next(30))" })
                default: s.open(at: t, customer: customer, click: steps.next(2) == 0)
                }
            }
            s.advance(to: t + 90 * day)
            return (s.outputs, s.task.encodeState())
        }
        let big = fold()
        let small = RecordArenaCache.$maxPlaces.withValue(2) { fold() }
        #expect(big.outputs.count > 200)
        #expect(small.outputs == big.outputs)
        #expect(small.state == big.state)
    }
}

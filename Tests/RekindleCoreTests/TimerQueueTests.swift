@testable import RekindleCore
import Testing

@Suite struct TimerQueueTests {
    @Test func reschedulingMovesTheOneEntryOfACustomerInsteadOfAddingOne() {
        var q = TimerQueue()
        var store = CustomerStore()
        for c in 0..<50 { _ = store.add(CustomerState(id: "c\(c)")) }
        for round in 0..<1000 {
            for c in 0..<50 { q.schedule(customer: Int32(c), due: Millis(1000 - round + c), ids: store) }
        }
        #expect(q.count == 50)
        #expect(q.due(7) == Millis(1 + 7))
        q.schedule(customer: 7, due: nil, ids: store)
        q.schedule(customer: 7, due: nil, ids: store)
        #expect(q.due(7) == nil)
        #expect(q.count == 49)
    }

    @Test func popsInDueOrderThenCustomerIdBytesAndOnlyWhatIsDue() {
        var q = TimerQueue()
        let ids = ["b", "a", "ä", "B", "c", "a2"]
        var store = CustomerStore()
        for id in ids { _ = store.add(CustomerState(id: id)) }
        var rng = SystemRandomNumberGenerator()
        var want: [(Millis, String)] = []
        for (c, id) in ids.enumerated() {
            // Every customer scheduled a few times; the last time counts.
            var due: Millis = 0
            for _ in 0..<5 {
                due = Millis(Int.random(in: 0..<3, using: &rng))
                q.schedule(customer: Int32(c), due: due, ids: store)
            }
            want.append((due, id))
        }
        want.sort { $0.0 != $1.0 ? $0.0 < $1.0 : RuleSet.byteLess($0.1, $1.1) }
        var got: [(Millis, String)] = []
        #expect(q.popDue(upTo: -1, ids: store) == nil)
        while let e = q.popDue(upTo: 2, ids: store) { got.append((e.due, store.id(Int(e.customer)))) }
        #expect(got.map(\.0) == want.map(\.0))
        #expect(got.map(\.1) == want.map(\.1))
        #expect(q.count == 0)
    }

    @Test func anEntryTakesTwelveBytesAndKeepsEveryDueTimeAndItsOrder() {
        #expect(MemoryLayout<TimerQueue.Entry>.stride == 12)
        let dues: [Millis] = [.max, 1_767_225_600_123, 1 << 32, (1 << 32) - 1, 1, 0, -1, -(1 << 32), .min]
        var q = TimerQueue()
        var store = CustomerStore()
        for (c, due) in dues.enumerated() {
            _ = store.add(CustomerState(id: "c\(c)"))
            q.schedule(customer: Int32(c), due: due, ids: store)
            #expect(q.due(c) == due)
        }
        var got: [Millis] = []
        while let e = q.popDue(upTo: .max, ids: store) { got.append(e.due) }
        #expect(got == dues.sorted())
    }

    @Test func aTaskKeepsOneTimerPerCustomerHoweverOftenItsTouchesAreCancelled() {
        // Views every minute move the abandoned-view timer each time (the old heap kept each).
        var task = CampaignTask(rules: .defaults)
        var out: [Output] = []
        for i in 0..<2000 {
            let e = Event(eventId: "e\(i)", customerId: "c\(i % 3)", occurredAt: 1_767_225_600_000 + Millis(i) * 60_000,
                          body: .productView(ProductViewEvent(productId: "p\(i % 7)")))
            task.apply(e, into: &out)
        }
        #expect(task.pendingTimers <= 3)
    }
}

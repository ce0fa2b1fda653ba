import RekindleCore
import RekindleTooling
import Testing

/// Spec 7.3: an erasure event removes the customer from the fold.
@Suite struct ErasureTests {
    static func erase(_ s: inout Scenario, at t: Millis, customer: String = "c1") {
        let id = s.eventId()
        s.apply(Event(eventId: id, customerId: customer, occurredAt: t, body: .erasure))
    }

    static func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard haystack.count >= n.count else { return false }
        return (0...(haystack.count - n.count)).contains { k in haystack[k..<(k + n.count)].elementsEqual(n) }
    }

    /// Rules that give the customer state everywhere: experiments, caps, consent.
    static let rules: RuleSet = {
        let text = """
            {"version": "t", "experiments": {"name": "x", "holdout": 0.5},
             "policy": {"caps": [{"channel": "any", "max": 5, "per_days": 30}]}}
            """
        do { return try RuleSet(overlay: JSONParser.parse(text)) } catch { fatalError("\(error)") }
    }()

    static func history(_ s: inout Scenario, _ customer: String) {
        s.view("p1", at: T0, customer: customer)
        s.purchase("o-\(customer)", at: at(hours: 2), customer: customer, total: 50, items: ["p1", "p2"])
        s.view("p3", at: at(days: 3), customer: customer)
        s.apply(Event(eventId: s.eventId(), customerId: customer, occurredAt: at(days: 3, hours: 1),
                      body: .consent(ConsentEvent(channel: "sms", granted: false))))
        s.advance(to: at(days: 10))
    }

    @Test func afterAnErasureNothingOfTheCustomerIsLeftInTheViewTheTimersOrTheSnapshot() throws {
        var s = Scenario(Self.rules)
        Self.history(&s, "erase-me-7f3a")
        Self.history(&s, "keep-me")
        s.view("p9", at: at(days: 10), customer: "erase-me-7f3a")
        let before = s.task.encodeState()
        #expect(Self.contains(before, "erase-me-7f3a"), "the id is in the snapshot before")
        Self.erase(&s, at: at(days: 10, minutes: 30), customer: "erase-me-7f3a")
        s.clear()
        s.advance(to: at(days: 400))
        #expect(!s.triggers.contains { $0.customerId == "erase-me-7f3a" }, "the view's touch due at 10 d 1 h was dropped")
        #expect(s.task.describe(customer: "erase-me-7f3a") == nil)
        #expect(s.task.describe(customer: "keep-me") != nil)
        let after = s.task.encodeState()
        #expect(!Self.contains(after, "erase-me-7f3a"), "the next snapshot holds nothing of theirs")
        #expect(!Self.contains(after, "o-erase-me-7f3a"), "nor their order ids")
        #expect(Self.contains(after, "keep-me"))
    }

    @Test func newEventsAfterTheErasureStartANewCustomer() throws {
        var s = Scenario(rulesOnly(["views"]))
        s.purchase("o1", at: T0, total: 70)
        Self.erase(&s, at: at(days: 1))
        s.view("p1", at: at(days: 2))
        s.advance(to: at(days: 3))
        let t = try #require(s.triggers("view.abandoned").first)
        #expect(t.customer.completedOrders == 0 && t.customer.totalSpent == 0, "nothing from before the erasure")
        #expect(t.firedAt == at(days: 2, hours: 1))
    }

    @Test func anErasureOfAnUnknownCustomerChangesNothing() {
        var a = Scenario(rulesOnly(["views"]))
        var b = Scenario(rulesOnly(["views"]))
        a.view("p1", at: T0)
        b.view("p1", at: T0)
        Self.erase(&b, at: at(minutes: 10), customer: "nobody")
        a.advance(to: at(days: 1))
        b.advance(to: at(days: 1))
        #expect(a.outputs == b.outputs)
        #expect(a.task.customerCount == b.task.customerCount)
    }

    @Test func aRestoredTaskWithErasedCustomersContinuesByteIdentically() throws {
        let rules = Self.rules
        var whole = Scenario(rules)
        for k in 0..<6 { Self.history(&whole, "c\(k)") }
        Self.erase(&whole, at: at(days: 11), customer: "c1")
        Self.erase(&whole, at: at(days: 11), customer: "c4")
        var resumed = Scenario(rules)
        resumed.task = try CampaignTask(restoring: whole.task.encodeState(), rules: rules)
        #expect(resumed.task.encodeState() == whole.task.encodeState())
        for s in [0, 1] {
            var x = s == 0 ? whole : resumed
            x.clear()
            x.view("p7", at: at(days: 12), customer: "c1")
            x.purchase("z", at: at(days: 13), customer: "c2", total: 5)
            x.advance(to: at(days: 60))
            if s == 0 { whole = x } else { resumed = x }
        }
        #expect(whole.outputs == resumed.outputs)
        #expect(resumed.task.lift == whole.task.lift)
    }

    @Test func erasingManyCustomersInAnyOrderKeepsEveryOtherOneFindable() {
        var s = Scenario(rulesOnly(["views"]))
        let ids = (0..<3000).map { "cust-\($0 * 7919 % 10007)" }
        for (k, id) in ids.enumerated() { s.view("p\(k % 50)", at: at(minutes: Double(k) / 100), customer: id) }
        var rng = SplitMix64(seed: 99)
        let erased = Set(ids.shuffled(using: &rng).prefix(1500))
        for (k, id) in erased.sorted().enumerated() { Self.erase(&s, at: at(minutes: 40 + Double(k) / 1000), customer: id) }
        for id in ids {
            #expect((s.task.describe(customer: id) == nil) == erased.contains(id), "\(id)")
        }
        s.clear()
        s.advance(to: at(days: 2))
        #expect(Set(s.triggers.map(\.customerId)) == Set(ids).subtracting(erased), "only those kept get their touch")
    }

    @Test func anErasureIsReadOnAnyTopic() {
        let line = #"{"type":"erasure","event_id":"x1","customer_id":"c9","occurred_at":"2026-02-01T00:00:00Z"}"#
        for topic in Topic.allCases {
            guard case .success(let e) = EventDecoder.decode(line, expecting: topic) else {
                Issue.record("refused on \(topic)")
                continue
            }
            #expect(e.body == .erasure)
        }
        let missing = #"{"type":"erasure","event_id":"x1","occurred_at":"2026-02-01T00:00:00Z"}"#
        #expect(EventDecoder.decode(missing) == .failure(InputError(.missingField, "missing required field customer_id")))
    }
}

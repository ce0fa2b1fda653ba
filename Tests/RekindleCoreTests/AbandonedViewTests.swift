import RekindleCore
import Testing

/// Spec 3.6 and 3.8 item 7: `view.abandoned` 60 minutes after the last product view, carrying the
/// viewed-not-ordered products of `(fired_at - 24 h, fired_at]` and item-to-item recommendations.
@Suite struct AbandonedViewTests {
    static let rule = "view.abandoned"

    func products(_ t: Trigger?) -> [String] { t?.products?.map(\.productId) ?? [] }

    // MARK: - When it fires

    @Test func firesSixtyMinutesAfterTheLastViewAndNotOneMillisecondBefore() throws {
        var s = Scenario(only: ["views"])
        s.view("p1", at: at(hours: 3))
        s.advance(to: at(hours: 4, ms: -1))
        #expect(s.triggers.isEmpty, "not 1 ms before last view + 60 minutes")
        s.advance(to: at(hours: 4))
        #expect(s.fired == [Fired(Self.rule, 1, at(hours: 4))])
        s.advance(to: at(days: 30))
        #expect(s.fired.count == 1, "one trigger per abandoned session")

        let t = try #require(s.triggers.first)
        #expect(t.products == [CarriedProduct(productId: "p1", viewedAt: at(hours: 3))])
        #expect(t.recommendations == [], "no other customer: nothing to recommend, but the field is there")
        #expect(t.offer == nil)
        #expect(t.channel == "email")
        #expect(t.conversionWindowDays == 7)
        #expect(t.customer.completedOrders == 0)
        #expect(t.customer.cold == false)
        #expect(t.triggerId == Trigger.id(ruleId: Self.rule, customerId: "c1", firedAt: at(hours: 4), touch: 1))
        let json = String(decoding: t.json, as: UTF8.self)
        #expect(json.contains("\"products\":[{\"product_id\":\"p1\",\"viewed_at\":\"2026-01-01T03:00:00.000Z\"}]"))
        #expect(json.contains("\"recommendations\":[]"))
    }

    @Test func eachNewViewMovesTheTimer() {
        var s = Scenario(only: ["views"])
        s.view("p1", at: T0)
        s.view("p2", at: at(minutes: 50))
        s.advance(to: at(minutes: 110, ms: -1))
        #expect(s.triggers.isEmpty, "the view at 0:50 moved the trigger due at 1:00 to 1:50")
        s.advance(to: at(minutes: 110))
        #expect(s.fired == [Fired(Self.rule, 1, at(minutes: 110))])
        #expect(s.triggers.first?.products == [
            CarriedProduct(productId: "p2", viewedAt: at(minutes: 50)),
            CarriedProduct(productId: "p1", viewedAt: T0),
        ])
    }

    @Test func aViewAtTheDueInstantIsAppliedFirstAndMovesTheTimer() {
        var s = Scenario(only: ["views"])
        s.view("p1", at: T0)
        s.view("p2", at: at(minutes: 60))
        #expect(s.triggers.isEmpty, "the view at 1:00 comes before the timer due at 1:00")
        s.advance(to: at(minutes: 120, ms: -1))
        #expect(s.triggers.isEmpty)
        s.advance(to: at(minutes: 120))
        #expect(s.fired == [Fired(Self.rule, 1, at(minutes: 120))])
        #expect(products(s.triggers.first) == ["p2", "p1"])
    }

    @Test func aViewOneMillisecondAfterTheDueInstantComesAfterTheTrigger() {
        var s = Scenario(only: ["views"])
        s.view("p1", at: T0)
        s.view("p2", at: at(minutes: 60, ms: 1))
        #expect(s.fired == [Fired(Self.rule, 1, at(minutes: 60))])
        #expect(products(s.triggers.first) == ["p1"])
        s.advance(to: at(minutes: 120, ms: 1))
        #expect(s.fired.last == Fired(Self.rule, 1, at(minutes: 120, ms: 1)))
        #expect(products(s.triggers.last) == ["p2"], "p1 was carried at 1:00: not again for 7 days")
    }

    @Test func viewingTheSameProductAgainMovesTheTimerAndItsViewedAt() {
        var s = Scenario(only: ["views"])
        s.view("p1", at: T0)
        s.view("p1", at: at(minutes: 30))
        s.advance(to: at(minutes: 90))
        #expect(s.fired == [Fired(Self.rule, 1, at(minutes: 90))])
        #expect(s.triggers.first?.products == [CarriedProduct(productId: "p1", viewedAt: at(minutes: 30))])
    }

    // MARK: - Which products, in which order

    @Test func productsAreDistinctNewestFirstEachWithItsLatestViewTime() {
        var s = Scenario(only: ["views"])
        s.view("p1", at: T0)
        s.view("p2", at: at(minutes: 10))
        s.view("p3", at: at(minutes: 20))
        s.view("p1", at: at(minutes: 30))
        s.advance(to: at(minutes: 90))
        #expect(s.triggers.first?.products == [
            CarriedProduct(productId: "p1", viewedAt: at(minutes: 30)),
            CarriedProduct(productId: "p3", viewedAt: at(minutes: 20)),
            CarriedProduct(productId: "p2", viewedAt: at(minutes: 10)),
        ])
    }

    @Test func equalViewTimesPutTheLaterAppliedViewFirst() {
        var s = Scenario(only: ["views"])
        s.view("p1", at: T0)
        s.view("p2", at: T0)
        s.view("p3", at: T0)
        s.view("p1", at: T0)  // a re-delivered view (same product, same instant) changes nothing.
        s.advance(to: at(hours: 1))
        #expect(products(s.triggers.first) == ["p3", "p2", "p1"])

        // A view of p1 at p2's time, applied after it, puts p1 first.
        var r = Scenario(only: ["views"])
        r.view("p1", at: T0)
        r.view("p2", at: at(minutes: 1))
        r.view("p1", at: at(minutes: 1))
        r.advance(to: at(minutes: 61))
        #expect(r.triggers.first?.products == [
            CarriedProduct(productId: "p1", viewedAt: at(minutes: 1)),
            CarriedProduct(productId: "p2", viewedAt: at(minutes: 1)),
        ])
    }

    @Test func atMostFiveProductsTheNewest() {
        var s = Scenario(only: ["views"])
        for k in 1...7 { s.view("p\(k)", at: at(minutes: Double(k))) }
        s.advance(to: at(minutes: 67))
        #expect(s.fired == [Fired(Self.rule, 1, at(minutes: 67))])
        #expect(products(s.triggers.first) == ["p7", "p6", "p5", "p4", "p3"])
    }

    @Test func theLimitOfFiveAppliesAfterTheOrderFilter() {
        var s = Scenario(only: ["views"])
        for k in 1...7 { s.view("p\(k)", at: at(minutes: Double(k))) }
        s.order("o1", .created, at: at(minutes: 10), items: ["p7", "p6"])
        s.advance(to: at(minutes: 67))
        #expect(products(s.triggers.first) == ["p5", "p4", "p3", "p2", "p1"])
    }

    @Test func onlyCarriedProductsCountAsOffered() {
        var s = Scenario(only: ["views"])
        for k in 1...6 { s.view("p\(k)", at: at(minutes: Double(k))) }
        s.advance(to: at(minutes: 66))
        #expect(products(s.triggers.first) == ["p6", "p5", "p4", "p3", "p2"], "p1 is cut by the limit")
        s.view("p7", at: at(hours: 2))
        s.advance(to: at(hours: 3))
        #expect(s.fired.last == Fired(Self.rule, 1, at(hours: 3)))
        #expect(s.triggers.last?.products == [
            CarriedProduct(productId: "p7", viewedAt: at(hours: 2)),
            CarriedProduct(productId: "p1", viewedAt: at(minutes: 1)),
        ], "p1 was not offered at 1:06, so it may be carried at 3:00; p2-p6 were")
    }

    @Test func viewsAtOrBeforeTwentyFourHoursBeforeFiredAtAreNeverCarried() {
        // With the default 60-minute delay: a view from 8 days ago is not carried with a new one.
        var s = Scenario(only: ["views"])
        s.view("p1", at: T0)
        s.advance(to: at(hours: 1))
        s.view("p2", at: at(days: 8))
        s.advance(to: at(days: 9))
        #expect(s.fired == [Fired(Self.rule, 1, at(hours: 1)), Fired(Self.rule, 1, at(days: 8, hours: 1))])
        #expect(products(s.triggers.last) == ["p2"])

        // The window's edge, with a 23-hour delay so that nothing fires in between.
        let overlay = "\"views\": {\"rules\": {\"view.abandoned\": {\"delay_minutes\": 1380}}}"
        var edge = Scenario(only: ["views"], overlay: overlay)
        edge.view("p1", at: T0)  // exactly fired_at - 24 h: outside (fired_at - 24 h, fired_at].
        edge.view("p2", at: at(hours: 1))
        edge.advance(to: at(hours: 24))
        #expect(edge.fired == [Fired(Self.rule, 1, at(hours: 24))])
        #expect(products(edge.triggers.first) == ["p2"])

        var inside = Scenario(only: ["views"], overlay: overlay)
        inside.view("p1", at: at(ms: 1))  // fired_at - 24 h + 1 ms: inside.
        inside.view("p2", at: at(hours: 1))
        inside.advance(to: at(hours: 24))
        #expect(inside.triggers.first?.products == [
            CarriedProduct(productId: "p2", viewedAt: at(hours: 1)),
            CarriedProduct(productId: "p1", viewedAt: at(ms: 1)),
        ])
    }

    // MARK: - Orders leave products out

    @Test(arguments: OrderStatus.allCases)
    func aProductInAnOrderEventOfAnyStatusInTheWindowIsLeftOutBeforeOrAfterTheView(_ status: OrderStatus) {
        var s = Scenario(only: ["views"])
        s.order("oA", status, at: at(hours: -20), items: ["p1"])  // before the view, inside the window.
        s.view("p1", at: T0)
        s.view("p2", at: at(minutes: 1))
        s.view("p3", at: at(minutes: 2))
        s.order("oB", status, at: at(minutes: 30), items: ["p3", "p9"])  // after the view.
        s.advance(to: at(minutes: 62))
        #expect(s.fired == [Fired(Self.rule, 1, at(minutes: 62))])
        #expect(s.triggers.first?.products == [CarriedProduct(productId: "p2", viewedAt: at(minutes: 1))],
                "an order (\(status)) removes only the products it contains")
    }

    @Test func nothingFiresWhenEveryViewedProductIsInAnOrder() {
        var s = Scenario(only: ["views"])
        s.view("p1", at: T0)
        s.view("p2", at: at(minutes: 5))
        s.order("o1", .paid, at: at(minutes: 10), items: ["p2"])
        s.order("o2", .cancelled, at: at(minutes: 20), items: ["p1"])
        s.advance(to: at(days: 10))
        #expect(s.triggers.isEmpty)
    }

    @Test func anOrderAtTheDueInstantIsAppliedBeforeTheTimer() {
        var s = Scenario(only: ["views"])
        s.view("p1", at: T0)
        s.view("p2", at: T0)
        s.order("o1", .created, at: at(minutes: 60), items: ["p2"])
        #expect(s.triggers.isEmpty)
        s.advance(to: at(minutes: 60))
        #expect(s.fired == [Fired(Self.rule, 1, at(minutes: 60))])
        #expect(products(s.triggers.first) == ["p1"])

        var all = Scenario(only: ["views"])
        all.view("p1", at: T0)
        all.order("o1", .created, at: at(minutes: 60), items: ["p1"])
        all.advance(to: at(days: 2))
        #expect(all.triggers.isEmpty)
    }

    @Test func anOrderAfterFiredAtDoesNotChangeTheTrigger() {
        var s = Scenario(only: ["views"])
        s.view("p1", at: T0)
        s.order("o1", .created, at: at(minutes: 60, ms: 1), items: ["p1"])
        #expect(s.fired == [Fired(Self.rule, 1, at(minutes: 60))])
        #expect(products(s.triggers.first) == ["p1"])
    }

    @Test func anOrderExactlyTwentyFourHoursBeforeFiredAtDoesNotLeaveTheProductOut() {
        var s = Scenario(only: ["views"])
        s.order("o1", .created, at: T0, items: ["p1"])  // fired_at - 24 h: outside the window.
        s.view("p1", at: at(hours: 23))
        s.advance(to: at(hours: 24))
        #expect(s.fired == [Fired(Self.rule, 1, at(hours: 24))])
        #expect(products(s.triggers.first) == ["p1"])

        var inside = Scenario(only: ["views"])
        inside.order("o1", .created, at: at(ms: 1), items: ["p1"])  // fired_at - 24 h + 1 ms: inside.
        inside.view("p1", at: at(hours: 23))
        inside.advance(to: at(days: 2))
        #expect(inside.triggers.isEmpty)
    }

    @Test func aDuplicateOrderEventDoesNotLeaveItsProductsOut() {
        var s = Scenario(only: ["views"])
        s.order("o1", .created, at: at(days: -3), items: ["p9"], eventId: "x1")
        s.view("p1", at: T0)
        s.view("p2", at: at(minutes: 1))
        s.order("o1", .created, at: at(minutes: 10), items: ["p1"])  // repeats the current status: no effect.
        s.order("o1", .paid, at: at(minutes: 11), items: ["p2"], eventId: "x1")  // a re-delivered event id: no effect.
        s.advance(to: at(minutes: 61))
        #expect(products(s.triggers.first) == ["p2", "p1"])
    }

    @Test func anotherCustomersOrderDoesNotLeaveTheProductOut() {
        var s = Scenario(only: ["views"])
        s.view("p1", at: T0, customer: "c1")
        s.order("o1", .completed, at: at(minutes: 10), customer: "c2", items: ["p1"])
        s.advance(to: at(hours: 1))
        #expect(s.triggers.map(\.customerId) == ["c1"])
        #expect(products(s.triggers.first) == ["p1"])
    }

    // MARK: - Not offered again within 7 days

    @Test func aCarriedProductIsNotCarriedAgainBeforeSevenDays() {
        // Carried at O = 1:00. A view 1 ms too early makes the next trigger due at O + 7 d - 1 ms.
        var s = Scenario(only: ["views"])
        s.view("p1", at: T0)
        s.advance(to: at(hours: 1))
        #expect(s.fired == [Fired(Self.rule, 1, at(hours: 1))])
        s.view("p1", at: at(days: 7, ms: -1))
        s.advance(to: at(days: 30))
        #expect(s.fired.count == 1, "p1 was carried at O; at O + 7 d - 1 ms no product is left")
    }

    @Test func aCarriedProductMayBeCarriedAgainAtExactlySevenDaysAfter() {
        var s = Scenario(only: ["views"])
        s.view("p1", at: T0)
        s.advance(to: at(hours: 1))
        s.view("p1", at: at(days: 7))
        s.advance(to: at(days: 7, hours: 1, ms: -1))
        #expect(s.fired.count == 1)
        s.advance(to: at(days: 7, hours: 1))
        #expect(s.fired == [Fired(Self.rule, 1, at(hours: 1)), Fired(Self.rule, 1, at(days: 7, hours: 1))])
        #expect(s.triggers.last?.products == [CarriedProduct(productId: "p1", viewedAt: at(days: 7))])
    }

    @Test func anOfferedProductIsLeftOutWhileOthersAreCarried() {
        var s = Scenario(only: ["views"])
        s.view("p1", at: T0)
        s.advance(to: at(hours: 1))
        s.view("p2", at: at(days: 2))
        s.view("p1", at: at(days: 2, minutes: 1))
        s.advance(to: at(days: 2, hours: 2))
        #expect(s.fired.last == Fired(Self.rule, 1, at(days: 2, minutes: 61)))
        #expect(products(s.triggers.last) == ["p2"])
        // Another customer may be offered p1 all the same.
        s.view("p1", at: at(days: 3), customer: "c2")
        s.advance(to: at(days: 3, hours: 1))
        #expect(s.triggers.last?.customerId == "c2")
        #expect(products(s.triggers.last) == ["p1"])
    }

    // MARK: - Recommendations

    @Test func recommendationsAreRankedByCosineSimilaritySummedOverTheCarriedProducts() throws {
        var s = Scenario(only: ["views"])
        // Model, count(x) and co(x,y) after each step:
        s.view("A", at: at(minutes: 0), customer: "c2")  // A=1
        s.view("B", at: at(minutes: 1), customer: "c2")  // B=1, AB=1
        s.view("A", at: at(minutes: 2), customer: "c3")  // A=2
        s.view("B", at: at(minutes: 3), customer: "c3")  // B=2, AB=2
        s.view("C", at: at(minutes: 4), customer: "c3")  // C=1, AC=1, BC=1
        s.view("C", at: at(minutes: 5), customer: "c4")  // C=2
        s.view("D", at: at(minutes: 6), customer: "c4")  // D=1, CD=1
        // A basket: each product +1, each pair +1.
        s.purchase("o5", at: at(minutes: 7), customer: "c5", items: ["A", "D", "F", "E"])
        // A=3, D=2, F=1, E=1; AD=1, AF=1, AE=1, DF=1, DE=1, EF=1
        s.purchase("o6", at: at(minutes: 8), customer: "c6", items: ["C", "G"])  // C=3, G=1; CG=1
        s.view("H", at: at(minutes: 9), customer: "c7")  // H=1
        s.view("A", at: at(minutes: 10), customer: "c7")  // A=4, AH=1
        s.view("C", at: at(minutes: 11), customer: "c8")  // C=4
        s.view("J", at: at(minutes: 12), customer: "c8")  // J=1, CJ=1
        // The customer: H in an order (never recommended to them), then views A and C.
        s.purchase("o1", at: at(minutes: 20), customer: "c1", items: ["H"])  // H=2
        s.view("A", at: at(hours: 2), customer: "c1")  // A=5
        s.view("C", at: at(hours: 2, minutes: 10), customer: "c1")  // C=5, AC=2
        s.advance(to: at(hours: 3, minutes: 10))

        // Final: A=5 B=2 C=5 D=2 E=1 F=1 G=1 H=2 J=1; AB=2 AC=2 BC=1 CD=1 AD=1 AE=1 AF=1 CG=1 AH=1 CJ=1.
        // Seeds (carried): C, A. Excluded: A, C (viewed), H (in c1's order).
        //   B = BC/sqrt(5*2) + AB/sqrt(5*2) = 1/sqrt10 + 2/sqrt10 = 0.9487
        //   D = CD/sqrt(5*2) + AD/sqrt(5*2) = 2/sqrt10             = 0.6325
        //   E = AE/sqrt(5*1)                = 1/sqrt5              = 0.4472
        //   F = AF/sqrt(5*1)                                       = 0.4472
        //   G = CG/sqrt(5*1)                                       = 0.4472
        //   J = CJ/sqrt(5*1)                                       = 0.4472
        //   (H would score AH/sqrt(5*2) = 0.3162, but c1 has it in an order.)
        // Ties by product id: E, F, G, J; at most 5, so J is cut.
        let t = try #require(s.triggers.first { $0.customerId == "c1" })
        #expect(t.firedAt == at(hours: 3, minutes: 10))
        #expect(t.products == [
            CarriedProduct(productId: "C", viewedAt: at(hours: 2, minutes: 10)),
            CarriedProduct(productId: "A", viewedAt: at(hours: 2)),
        ])
        #expect(t.recommendations == ["B", "D", "E", "F", "G"])
        #expect(t.customer.completedOrders == 1)
    }

    @Test func aViewWithinTwentyFourHoursOfTheLastViewOfTheSameProductIsNotANewOccurrence() throws {
        var s = Scenario(only: ["views"])
        s.view("A", at: T0, customer: "c2")  // A=1
        s.view("X", at: at(minutes: 1), customer: "c2")  // X=1, AX=1
        s.view("A", at: at(hours: 23), customer: "c2")  // A viewed by c2 within 24 h: no change
        s.view("A", at: at(days: 2), customer: "c3")  // A=2
        s.view("Q", at: at(days: 2, minutes: 1), customer: "c3")  // Q=1, AQ=1
        s.view("A", at: at(days: 2), customer: "c4")  // A=3
        s.view("Q", at: at(days: 2, minutes: 1), customer: "c4")  // Q=2, AQ=2
        s.view("A", at: at(days: 4), customer: "c1")  // A=4
        s.advance(to: at(days: 4, hours: 1))
        // Seed A (4): Q = 2/sqrt(4*2) = 0.7071, X = 1/sqrt(4*1) = 0.5.
        // (Had c2's second view of A been a new episode: A=5, AX=2, X = 2/sqrt5 = 0.894 > Q = 2/sqrt10 = 0.632.)
        let t = try #require(s.triggers.first { $0.customerId == "c1" })
        #expect(t.recommendations == ["Q", "X"])
    }

    @Test func repeatedCoViewEpisodesAndBasketsAddUp() throws {
        var s = Scenario(only: ["views"])
        // c2: A and B together on day 0, again on day 2 (a new episode for both): A=2 B=2 AB=2.
        s.view("A", at: T0, customer: "c2")
        s.view("B", at: at(minutes: 1), customer: "c2")
        s.view("A", at: at(days: 2), customer: "c2")
        s.view("B", at: at(days: 2, minutes: 1), customer: "c2")
        // c3: A and C in one order, completed three times (cancelled in between): one basket only.
        s.order("o3", .completed, at: at(days: 3), customer: "c3", items: ["A", "C"])  // A=3 C=1 AC=1
        s.order("o3", .cancelled, at: at(days: 3, minutes: 1), customer: "c3")
        s.order("o3", .completed, at: at(days: 3, minutes: 2), customer: "c3")  // not counted again
        s.order("o3", .cancelled, at: at(days: 3, minutes: 3), customer: "c3")
        s.order("o3", .completed, at: at(days: 3, minutes: 4), customer: "c3")  // nor again
        // c4: A and D in a created order only: no basket.
        s.order("o4", .created, at: at(days: 3), customer: "c4", items: ["A", "D"])
        // c1 views A.
        s.view("A", at: at(days: 4), customer: "c1")  // A=4
        s.advance(to: at(days: 4, hours: 1))
        // B = 2/sqrt(4*2) = 0.7071; C = 1/sqrt(4*1) = 0.5; D has no co-occurrence.
        // (Had o3 counted at each completion: A=6, C=3, AC=3, C = 3/sqrt18 = 0.707 > B = 2/sqrt12 = 0.577;
        // had the created o4 counted, D would be recommended.)
        let t = try #require(s.triggers.first { $0.customerId == "c1" })
        #expect(t.recommendations == ["B", "C"])
    }

    @Test func recommendationsAreSeededOnlyByTheCarriedProducts() throws {
        var s = Scenario(only: ["views"])
        s.view("X", at: T0, customer: "c2")
        s.view("Y", at: at(minutes: 1), customer: "c2")  // X=1 Y=1 XY=1
        s.view("X", at: at(hours: 1), customer: "c1")  // X=2
        s.view("Z", at: at(hours: 1, minutes: 1), customer: "c1")  // Z=1 XZ=1
        s.order("o1", .created, at: at(hours: 1, minutes: 2), customer: "c1", items: ["X"])
        s.advance(to: at(hours: 3))
        // Carried: Z only. Z's only neighbour is X, which c1 viewed and has in an order.
        // Y is a neighbour of X alone, and X is not carried, so Y scores nothing.
        let t = try #require(s.triggers.first { $0.customerId == "c1" })
        #expect(products(t) == ["Z"])
        #expect(t.recommendations == [])
    }

    @Test func recommendationsExcludeAViewedProductThatWasNotCarried() throws {
        var s = Scenario(only: ["views"])
        s.view("A", at: T0, customer: "c2")
        s.view("B", at: at(minutes: 1), customer: "c2")
        s.view("C", at: at(minutes: 2), customer: "c2")  // A=1 B=1 C=1 AB=1 AC=1 BC=1
        s.view("A", at: at(hours: 2), customer: "c1")  // A=2
        s.advance(to: at(hours: 3))
        // Seed A (2): B = 1/sqrt(2*1), C = 1/sqrt(2*1): equal, by id.
        let first = try #require(s.triggers.first { $0.customerId == "c1" })
        #expect(products(first) == ["A"])
        #expect(first.recommendations == ["B", "C"])
        s.view("B", at: at(hours: 4), customer: "c1")  // B=2, AB=2 (A viewed 2 h before)
        s.advance(to: at(hours: 5))
        // A was offered at 3:00, so only B is carried; A is still a viewed product: excluded.
        // Seed B (2): A = 2/sqrt(2*2) = 1 (excluded), C = 1/sqrt(2*1) = 0.7071.
        let second = try #require(s.triggers.last { $0.customerId == "c1" })
        #expect(second.firedAt == at(hours: 5))
        #expect(products(second) == ["B"])
        #expect(second.recommendations == ["C"])
    }

    @Test func recommendationsExcludeAProductTheCustomerViewedDaysAgo() throws {
        // Spec 3.6: "excluding products the customer viewed or bought" (not only within 24 h).
        for withAnotherEventBetween in [false, true] {
            var s = Scenario(only: ["views"])
            s.view("A", at: T0, customer: "c2")
            s.view("B", at: at(minutes: 1), customer: "c2")  // A=1 B=1 AB=1
            s.view("B", at: at(minutes: 10), customer: "c1")  // B=2
            s.advance(to: at(minutes: 70))
            #expect(s.triggers.last?.recommendations == ["A"], "c1 at 1:10: A = 1/sqrt(2*1)")
            if withAnotherEventBetween { s.open(at: at(days: 2), customer: "c1") }
            s.view("A", at: at(days: 3), customer: "c1")  // A=2; B 3 days old: no pair.
            s.advance(to: at(days: 3, hours: 1))
            let t = try #require(s.triggers.last { $0.customerId == "c1" })
            #expect(t.firedAt == at(days: 3, hours: 1))
            #expect(products(t) == ["A"])
            // B = 1/sqrt(2*2) = 0.5 from A, but c1 viewed B (on day 0).
            #expect(t.recommendations == [],
                    "a product the customer viewed is never recommended (email open between: \(withAnotherEventBetween))")
        }
    }

    @Test func recommendationsExcludeProductsInTheCustomersOrdersAndStopAtFive() throws {
        var s = Scenario(only: ["views"])
        // c2 views A and r1...r7 in one episode: A=1, each r=1, A-r=1.
        s.view("A", at: T0, customer: "c2")
        for k in 1...7 { s.view("r\(k)", at: at(minutes: Double(k)), customer: "c2") }
        s.purchase("o1", at: at(hours: 1), customer: "c1", items: ["r2"])  // r2=2, basket of one
        s.view("A", at: at(hours: 2), customer: "c1")  // A=2
        s.advance(to: at(hours: 3))
        // Every r scores 1/sqrt(2*1) except r2 (1/sqrt(2*2)), which c1 bought: excluded.
        let t = try #require(s.triggers.first { $0.customerId == "c1" })
        #expect(t.recommendations == ["r1", "r3", "r4", "r5", "r6"])
    }
}

@Suite struct RecommendationExclusionTests {
    @Test func aProductOnlyInAnOrderThatNeverCompletedIsNotBoughtAndCanBeRecommended() throws {
        var s = Scenario(only: ["views"])
        s.view("A", at: T0, customer: "c2")
        s.view("B", at: at(minutes: 1), customer: "c2")  // A=1 B=1 AB=1
        s.order("o1", .created, at: at(minutes: 5), customer: "c1", items: ["B"])
        s.order("o1", .cancelled, at: at(minutes: 6), customer: "c1")
        s.view("A", at: at(days: 2), customer: "c1")  // A=2; the order is outside A's 24 h window
        s.advance(to: at(days: 2, hours: 1))
        let t = try #require(s.triggers.last { $0.customerId == "c1" })
        #expect(t.recommendations == ["B"], "B = 1/sqrt(2*1); c1 never bought it")
        // Once an order with B completes (even if later returned), B counts as bought.
        s.order("o2", .completed, at: at(days: 3), customer: "c1", items: ["B"])
        s.order("o2", .returned, at: at(days: 4), customer: "c1")
        s.view("A", at: at(days: 10), customer: "c1")
        s.advance(to: at(days: 10, hours: 1))
        let u = try #require(s.triggers.last { $0.customerId == "c1" })
        #expect(u.firedAt == at(days: 10, hours: 1))
        #expect(u.recommendations == [])
    }
}

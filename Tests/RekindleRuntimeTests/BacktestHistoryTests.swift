import RekindleCore
@testable import RekindleRuntime
import Testing

/// The back-test's whole-history analytics (seed 004, spec 7.4) and churn section (spec 3.9,
/// issue 14) on a history checked by hand: four customers over January to April 2026.
@Suite struct BacktestHistoryTests {
    static func at(_ text: String) -> Millis { Timestamp.parse(text)! }

    static func order(_ customer: String, _ id: String, _ status: OrderStatus, _ time: String, total: Double, event: String? = nil) -> Event {
        Event(
            eventId: event ?? "\(id)-\(status)", customerId: customer, occurredAt: at(time),
            body: .order(OrderEvent(orderId: id, status: status, total: total)))
    }

    static func email(_ customer: String, _ time: String) -> Event {
        Event(eventId: "e-\(customer)-\(time)", customerId: customer, occurredAt: at(time), body: .email(EmailEvent(clicked: false, messageId: "m")))
    }

    /// c1 buys in January, February and March; c2 once in January (its completion re-delivered);
    /// c3 buys in February and returns it two days later; c4 buys in February and on April 1.
    static let history: PurchaseHistory = {
        var h = PurchaseHistory()
        let events = [
            email("c0", "2026-01-01T00:00:00Z"),
            order("c1", "o1", .completed, "2026-01-10T00:00:00Z", total: 10),
            order("c2", "o4", .completed, "2026-01-20T00:00:00Z", total: 15),
            order("c2", "o4", .completed, "2026-01-21T00:00:00Z", total: 15),
            order("c1", "o2", .completed, "2026-02-05T00:00:00Z", total: 20),
            order("c3", "o5", .completed, "2026-02-10T00:00:00Z", total: 50),
            order("c3", "o5", .returned, "2026-02-12T00:00:00Z", total: 50),
            order("c4", "o6", .completed, "2026-02-15T00:00:00Z", total: 40),
            order("c1", "o3", .completed, "2026-03-20T00:00:00Z", total: 30),
            order("c4", "o7", .completed, "2026-04-01T12:00:00Z", total: 5),
            email("c0", "2026-04-30T00:00:00Z"),
        ]
        for e in events { h.add(e) }
        return h
    }()

    static let from = at("2026-01-01T00:00:00Z"), to = at("2026-04-30T00:00:00Z")

    @Test func purchasesFollowTheOrdersLatestStatusAndIgnoreARepeatedOne() {
        let h = Self.history
        #expect(h.purchases.map(\.orderId) == ["o1", "o4", "o2", "o5", "o6", "o3", "o7"])
        #expect(h.purchases[3].removedAt == Self.at("2026-02-12T00:00:00Z"))
        #expect(h.purchases.map(\.cents) == [1_000, 1_500, 2_000, 5_000, 4_000, 3_000, 500])
        #expect(h.firstSeen.count == 5 && h.first == Self.from && h.last == Self.to)
    }

    @Test func cohortsByFirstPurchaseMonthCountWhoBoughtInEachMonthSince() {
        let c = Cohorts(Self.history, from: Self.from, to: Self.to)
        #expect(c.cohorts.map(\.month.name) == ["2026-01", "2026-02"])
        #expect(c.cohorts[0].customers == 2 && c.cohorts[0].repeatCustomers == 1 && c.cohorts[0].cents == 7_500)
        #expect(c.cohorts[0].active == [2, 1, 1, 0])
        #expect(c.cohorts[1].customers == 1 && c.cohorts[1].repeatCustomers == 1 && c.cohorts[1].cents == 4_500)
        #expect(c.cohorts[1].active == [1, 0, 1])
        // The returned order's buyer is no buyer.
        #expect(c.buyers == 3 && c.repeatBuyers == 2 && c.repeatRate == 2.0 / 3)
    }

    @Test func retentionIsCustomersAtTheEndLessTheNewOverThoseAtTheStart() {
        let months = Cohorts(Self.history, from: Self.from, to: Self.to).months
        #expect(months.map(\.month.name) == ["2026-01", "2026-02", "2026-03", "2026-04"])
        #expect(months.map(\.start) == [0, 2, 3, 3])
        #expect(months.map(\.new) == [2, 1, 0, 0])
        // April's end: c2's January purchase is more than 90 days back.
        #expect(months.map(\.end) == [2, 3, 3, 2])
        #expect(months.map(\.retention) == [nil, 1, 1, 2.0 / 3])
    }

    @Test func ltvIsMonthlyRevenuePerCustomerTimesMeanLifetime() throws {
        let c = Cohorts(Self.history, from: Self.from, to: Self.to)
        let month = 365.2425 / 12
        // Months since the first purchase, to April 30: c1 110 days, c2 100, c4 74.
        let monthly = 120.0 / ((110.0 + 100 + 74) / month)
        // First to last purchase: c1 69 days, c2 0, c4 45.5.
        let lifetime = (69.0 + 0 + 45.5) / month / 3
        #expect(abs(try #require(c.monthlyRevenuePerCustomer) - monthly) < 1e-9)
        #expect(abs(try #require(c.meanLifetimeMonths) - lifetime) < 1e-12)
        #expect(abs(try #require(c.ltv) - monthly * lifetime) < 1e-9)
    }

    static let model = ChurnModel(r: 0.2426, alpha: 4.414, a: 0.7929, b: 2.426)

    @Test func riskBandsCountTheBuyersAtEachMonthsEndByTheModelsRisk() {
        var check = ChurnCheck(source: .current, model: Self.model, horizonDays: 90)
        check.measure(ChurnCheck.Buyers(Self.history), from: Self.from, to: Self.to, boundary: nil)
        #expect(check.bands.map(\.at) == ["2026-01-31T23:59:59.999Z", "2026-02-28T23:59:59.999Z", "2026-03-31T23:59:59.999Z", "2026-04-30T00:00:00Z"].map(Self.at))
        let purchases: [String: [String]] = [
            "c1": ["2026-01-10T00:00:00Z", "2026-02-05T00:00:00Z", "2026-03-20T00:00:00Z"], "c2": ["2026-01-20T00:00:00Z"],
            "c4": ["2026-02-15T00:00:00Z", "2026-04-01T12:00:00Z"],
        ]
        for b in check.bands {
            var want = ChurnCheck.Bands(at: b.at)
            for (_, times) in purchases {
                guard let s = ChurnSummary(purchases: times.map(Self.at), at: b.at) else { continue }
                let risk = Self.model.churnRisk(s, horizonWeeks: 90.0 / 7)
                if risk >= 0.66 { want.high += 1 } else if risk >= 0.33 { want.medium += 1 } else { want.low += 1 }
            }
            #expect(b == want)
        }
        // c3's returned purchase never makes it a buyer: 2 buyers in January, 3 from February.
        #expect(check.bands.map { $0.low + $0.medium + $0.high } == [2, 3, 3, 3])
        #expect(check.predictions.isEmpty)
    }

    @Test func thePredictionFromTheBoundaryIsTheSumOfExpectedPurchasesBesideThePurchaseDaysThatCame() throws {
        var check = ChurnCheck(source: .current, model: Self.model, horizonDays: 90)
        let boundary = Self.at("2026-03-01T00:00:00Z")
        check.measure(ChurnCheck.Buyers(Self.history), from: Self.from, to: Self.to, boundary: boundary)
        let weeks = Double(ChurnSummary.day(Self.to) - ChurnSummary.day(boundary)) / 7
        func expected(_ times: [String]) -> Double {
            Self.model.expectedPurchases(ChurnSummary(purchases: times.map(Self.at), at: boundary)!, horizonWeeks: weeks)
        }
        let january = expected(["2026-01-10T00:00:00Z", "2026-02-05T00:00:00Z"]) + expected(["2026-01-20T00:00:00Z"])
        let february = expected(["2026-02-15T00:00:00Z"])
        #expect(check.predictions.count == 3)
        let (jan, feb, total) = (check.predictions[0], check.predictions[1], check.predictions[2])
        #expect(jan.cohort?.name == "2026-01" && jan.customers == 2 && jan.actual == 1 && abs(jan.predicted - january) < 1e-12)
        #expect(feb.cohort?.name == "2026-02" && feb.customers == 1 && feb.actual == 1 && abs(feb.predicted - february) < 1e-12)
        #expect(total.cohort == nil && total.customers == 3 && total.actual == 2 && abs(total.predicted - january - february) < 1e-12)
    }

    @Test func aRuleSetsModelIsReadWithItsHorizonAndFittedUntil() throws {
        let overlay = try RuleFile.parse("""
            version: churn-test
            families:
              churn:
                horizon_days: 60
                model: {r: 0.25, alpha: 4, a: 0.8, b: 2.5, log_likelihood: -100, customers: 50, fitted_until: "2026-03-01T00:00:00Z"}
            """)
        let found = try #require(ChurnCheck.model(of: try RuleSet(overlay: overlay)))
        #expect(found.model == ChurnModel(r: 0.25, alpha: 4, a: 0.8, b: 2.5))
        #expect(found.horizonDays == 60 && found.fittedUntil == Self.at("2026-03-01T00:00:00Z") && found.logLikelihood == -100)
        #expect(ChurnCheck.model(of: .defaults) == nil)
    }
}

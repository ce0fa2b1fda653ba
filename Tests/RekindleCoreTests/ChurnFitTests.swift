import Foundation
@testable import RekindleCore
import RekindleTooling
import Testing

/// Maximum likelihood for spec 3.9's model: the paper's CDNOW estimates, recovery of known
/// parameters from simulated histories, the weighted rows, and the refusals.
@Suite struct ChurnFitTests {
    /// lifetimes' copy of the CDNOW sample summary (2,357 customers, weeks; MIT licence):
    /// Tests/Fixtures/cdnow_customers_summary.csv.
    static func cdnow() throws -> [ChurnSummary] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/cdnow_customers_summary.csv")
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").dropFirst()
        return try lines.map { line in
            let f = line.split(separator: ",")
            guard f.count == 4, let x = Int(f[1]), let tx = Double(f[2]), let T = Double(f[3]) else {
                throw JSONParseError(message: "bad CDNOW line \(line)", offset: 0)
            }
            return ChurnSummary(x: x, tx: tx, T: T)
        }
    }

    /// Three significant digits of `v` equal those of `published`.
    static func sameTo3Digits(_ v: Double, _ published: Double) -> Bool {
        let scale = pow(10, floor(log10(abs(published))) - 2)
        return (v / scale).rounded() == (published / scale).rounded()
    }

    /// Fader, Hardie & Lee (2005), table 1: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426,
    /// LL = -9582.4; lifetimes' standard errors 0.012557, 0.378221, 0.185719, 0.705345.
    @Test func theCDNOWFitReproducesThePapersEstimatesAndLikelihood() throws {
        let data = WeightedSummaries(try Self.cdnow())
        #expect(data.customers == 2357)
        let fit = try BGNBDFit.fit(data)
        let m = fit.model
        #expect(Self.sameTo3Digits(m.r, 0.243), "r = \(m.r)")
        #expect(Self.sameTo3Digits(m.alpha, 4.41), "alpha = \(m.alpha)")
        #expect(abs(m.alpha - 4.414) < 0.0006, "alpha = \(m.alpha)")
        #expect(Self.sameTo3Digits(m.a, 0.793), "a = \(m.a)")
        #expect(Self.sameTo3Digits(m.b, 2.43), "b = \(m.b)")
        #expect(abs(m.b - 2.426) < 0.0006, "b = \(m.b)")
        #expect(abs(fit.logLikelihood - -9582.4) < 0.1, "LL = \(fit.logLikelihood)")
        #expect(fit.customers == 2357)
        let se = fit.standardErrors
        for (got, want) in [(se.r, 0.012557), (se.alpha, 0.378221), (se.a, 0.185719), (se.b, 0.705345)] {
            #expect(abs(got - want) < 0.01 * want, "standard error \(got), lifetimes \(want)")
        }
    }

    /// 8,000 simulated customers observed 26 to 78 weeks from known parameters: the fit finds
    /// each within two of its standard errors.
    @Test(arguments: [
        (ChurnModel(r: 0.243, alpha: 4.414, a: 0.793, b: 2.426), UInt64(1)),
        (ChurnModel(r: 1.5, alpha: 12, a: 2.5, b: 8), UInt64(2)),
    ])
    func aFitRecoversSimulatedParametersWithinTwoStandardErrors(truth: ChurnModel, seed: UInt64) throws {
        let sim = BGNBDSimulator(model: truth, seed: seed)
        let data = WeightedSummaries((0..<8_000).map { k in sim.summary(customer: k, observedWeeks: 26 + Double(k % 53)) })
        let fit = try BGNBDFit.fit(data)
        let m = fit.model, se = fit.standardErrors
        for (name, got, want, error) in [
            ("r", m.r, truth.r, se.r), ("alpha", m.alpha, truth.alpha, se.alpha), ("a", m.a, truth.a, se.a), ("b", m.b, truth.b, se.b),
        ] {
            #expect(error.isFinite && error > 0, "\(name): standard error \(error)")
            #expect(abs(got - want) <= 2 * error, "\(name) = \(got) +- \(error), simulated from \(want)")
        }
        // The optimum is a maximum: nudging any parameter lowers the likelihood.
        let table = LikelihoodTable(data)
        let theta = [log(m.r), log(m.alpha), log(m.a), log(m.b)]
        for i in 0..<4 {
            for d in [-1e-3, 1e-3] {
                var t = theta
                t[i] += d
                #expect(table.logLikelihood(t) < fit.logLikelihood)
            }
        }
    }

    @Test func theFitDependsOnTheSummariesNotOnTheOrderOfTheCustomers() throws {
        let cdnow = try Self.cdnow()
        var shuffled = cdnow
        var rng = SplitMix64(seed: 5)
        rng.shuffle(&shuffled)
        let a = try BGNBDFit.fit(WeightedSummaries(cdnow)), b = try BGNBDFit.fit(WeightedSummaries(shuffled))
        #expect(a.model == b.model)
        #expect(a.logLikelihood == b.logLikelihood)
    }

    @Test func weightedRowsGiveTheSumOfEveryCustomersLikelihood() throws {
        let sim = BGNBDSimulator(model: ChurnModel(r: 0.5, alpha: 3, a: 0.8, b: 2), seed: 9)
        let start = Timestamp.parse("2025-01-01T00:00:00Z")!, until = Timestamp.parse("2026-01-01T00:00:00Z")!
        let summaries = (0..<3_000).map { k in
            ChurnSummary(purchases: sim.purchaseInstants(customer: k, first: start + Millis(k % 200) * millisPerDay + Millis(k) * 977, until: until), at: until)!
        }
        let data = WeightedSummaries(summaries)
        #expect(data.customers == 3_000)
        #expect(data.rows.count < 3_000)
        #expect(data.weights.reduce(0, +) == 3_000)
        let m = ChurnModel(r: 0.7, alpha: 2.5, a: 1.1, b: 3)
        let each = summaries.reduce(0.0) { $0 + m.logLikelihood($1) }
        let weighted = LikelihoodTable(data).logLikelihood([log(m.r), log(m.alpha), log(m.a), log(m.b)])
        #expect(abs(weighted - each) <= 1e-10 * abs(each))
        // Enough rows to be summed in parts on every core: the same sum.
        let many = (0..<(2 * LikelihoodTable.parallelRows)).map { k in sim.summary(customer: k, observedWeeks: 10 + Double(k % 97)) }
        let table = LikelihoodTable(WeightedSummaries(many))
        #expect(table.weights.count > LikelihoodTable.parallelRows)
        let parts = table.logLikelihood([log(m.r), log(m.alpha), log(m.a), log(m.b)])
        let one = many.reduce(0.0) { $0 + m.logLikelihood($1) }
        #expect(abs(parts - one) <= 1e-10 * abs(one))
    }

    @Test func tooFewCustomersOrNoRepeatPurchaseIsRefusedWithTheReason() {
        let few = WeightedSummaries((0..<9).map { ChurnSummary(x: $0 % 3, tx: Double($0), T: 10) })
        #expect(throws: ChurnFitError.tooFewCustomers(9, minimum: 10)) { try BGNBDFit.fit(few) }
        let once = WeightedSummaries((0..<50).map { ChurnSummary(x: 0, tx: 0, T: Double($0)) })
        #expect(throws: ChurnFitError.noRepeatPurchases(customers: 50)) { try BGNBDFit.fit(once) }
        #expect("\(ChurnFitError.noRepeatPurchases(customers: 50))".contains("no repeat purchases"))
        #expect("\(ChurnFitError.tooFewCustomers(9, minimum: 10))".contains("too few customers"))
    }
}

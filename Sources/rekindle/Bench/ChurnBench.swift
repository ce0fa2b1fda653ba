import ArgumentParser
import Foundation
import RekindleCore
import RekindleTooling

/// Spec 3.9's costs: fitting the BG/NBD model on a million customers' summaries (whole days, so
/// identical summaries are one weighted row) beside what the same fit would cost one row per
/// customer, and scoring one customer at a purchase beside the closed-form p_alive alone.
struct ChurnBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "churn",
        abstract: "BG/NBD fit time on simulated customers and the cost of scoring one customer at a purchase.")

    @Option(name: .long, help: "Simulated customers.")
    var customers = 1_000_000

    @Option(name: .long, help: "First purchases are spread over this many days before --until.")
    var days = 730

    @Option(name: .long, help: "The simulation's seed.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Scorings timed.")
    var scorings = 2_000_000

    func validate() throws {
        guard customers >= BGNBDFit.minimumCustomers, customers <= 100_000_000 else { throw ValidationError("--customers: expected 10 to 100000000") }
        guard days >= 1, days <= 36_500 else { throw ValidationError("--days: expected 1 to 36500") }
        guard scorings >= 1 else { throw ValidationError("--scorings: expected at least 1") }
    }

    func run() throws {
        // The paper's CDNOW estimates, in weeks.
        let truth = ChurnModel(r: 0.243, alpha: 4.414, a: 0.793, b: 2.426)
        let sim = BGNBDSimulator(model: truth, seed: seed)
        let until = Timestamp.parse("2026-01-01T00:00:00Z")!
        let clock = ContinuousClock()
        var summaries: [ChurnSummary] = []
        summaries.reserveCapacity(customers)
        let simulated = clock.measure {
            for k in 0..<customers {
                let first = until - Millis(1 + k % days) * millisPerDay + Millis(k &* 7_919) % millisPerDay
                summaries.append(ChurnSummary(purchases: sim.purchaseInstants(customer: k, first: first, until: until), at: until)!)
            }
        }
        print("simulated \(customers) customers over \(days) days (r 0.243, alpha 4.414, a 0.793, b 2.426) in \(Self.seconds(simulated))")

        var data = WeightedSummaries()
        let compressed = clock.measure { data = WeightedSummaries(summaries) }
        print("compressed into \(data.rows.count) distinct (x, t_x, T) rows in \(Self.seconds(compressed))")

        var fit: ChurnFit?
        let fitted = try clock.measure { fit = try BGNBDFit.fit(data) }
        let f = fit!
        print("fit: \(Self.seconds(fitted)) (\(f.evaluations) likelihood evaluations); compress + fit: \(Self.seconds(compressed + fitted))")
        print(String(format: "  r %.4f (%.4f)  alpha %.4f (%.4f)  a %.4f (%.4f)  b %.4f (%.4f)  log-likelihood %.1f",
                     f.model.r, f.standardErrors.r, f.model.alpha, f.standardErrors.alpha, f.model.a, f.standardErrors.a,
                     f.model.b, f.standardErrors.b, f.logLikelihood))
        // Baseline: one likelihood evaluation a row per customer, times the evaluations made.
        var sink = 0.0
        let perCustomer = clock.measure { for s in summaries { sink += f.model.logLikelihood(s) } }
        print("baseline: one row per customer, an evaluation takes \(Self.seconds(perCustomer)); the fit's \(f.evaluations) would take \(Self.seconds(perCustomer * f.evaluations))")

        // Scoring at a purchase: T = t_x (the purchase is the last one), a 90-day horizon.
        let h = ChurnModel.horizonWeeks(days: 90)
        let atPurchase = summaries.map { ChurnSummary(x: $0.x, tx: $0.tx, T: $0.tx) }
        let n = scorings
        let scoring = clock.measure {
            for i in 0..<n {
                let s = f.model.score(atPurchase[i % atPurchase.count], horizonWeeks: h)
                sink += s.expectedPurchases + s.churnRisk
            }
        }
        let closedForm = clock.measure {
            for i in 0..<n { sink += f.model.pAlive(atPurchase[i % atPurchase.count]) }
        }
        let risky = clock.measure {
            for i in 0..<n {
                let s = atPurchase[i % atPurchase.count]
                let last = Int64((s.tx * 7).rounded())
                sink += Double(f.model.firstDayAtRisk(x: s.x, lastDay: last, from: last + 1, threshold: 0.66, horizonWeeks: h) ?? 0)
            }
        }
        // The summary at the last purchase from the purchase instants, as a family reading the
        // task's purchases would build it (a sort of the customer's purchase days).
        let histories = (0..<min(customers, 100_000)).map { k in
            sim.purchaseInstants(customer: k, first: until - Millis(1 + k % days) * millisPerDay, until: until)
        }
        let summarising = clock.measure {
            for i in 0..<n {
                let p = histories[i % histories.count]
                sink += ChurnSummary(purchases: p, at: p.last!)!.tx
            }
        }
        print("score at a purchase (p_alive, churn_risk, expected_purchases over 90 days): \(Self.nanos(scoring, n)) per customer")
        print("  the summary from the customer's purchase instants: \(Self.nanos(summarising, n))")
        print("  baseline, p_alive alone (closed form): \(Self.nanos(closedForm, n)); first day at risk >= 0.66 (binary search over days): \(Self.nanos(risky, n))")
        if sink == 42 { print("") }
    }

    static func seconds(_ d: Duration) -> String {
        String(format: "%.2f s", Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
    }

    static func nanos(_ d: Duration, _ n: Int) -> String {
        String(format: "%.0f ns", (Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18) * 1e9 / Double(n))
    }
}

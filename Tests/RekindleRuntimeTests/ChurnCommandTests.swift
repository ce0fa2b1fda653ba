import Foundation
import RekindleCore
import RekindleRuntime
import RekindleTooling
import Testing

/// `rekindle churn fit` (spec 3.9) run as a user runs it: events read as `rekindle replay` reads
/// them, purchases as the fold counts them, the overlay's exact text, the scores' lines.
@Suite(.serialized) struct ChurnCommandTests {
    static let t0 = Timestamp.parse("2025-01-06T00:00:00Z")!
    static let until = Timestamp.parse("2026-01-05T00:00:00Z")!
    static let day = millisPerDay

    /// One order event line.
    static func order(_ event: String, _ customer: String, _ order: String, _ status: String, _ at: Millis) -> String {
        #"{"type":"order","event_id":"\#(event)","customer_id":"\#(customer)","order_id":"\#(order)","status":"\#(status)","occurred_at":"\#(Timestamp.format(at))","total":25.0}"#
    }

    /// 300 customers simulated from the paper's CDNOW estimates, each purchase a completed order,
    /// in reverse time order (the fold sorts), plus the cases the fold decides.
    static func history() -> (lines: [String], purchases: [(String, [Millis])]) {
        let sim = BGNBDSimulator(model: ChurnModel(r: 0.243, alpha: 4.414, a: 0.793, b: 2.426), seed: 7)
        var lines: [String] = []
        var purchases: [(String, [Millis])] = []
        for k in 0..<300 {
            let id = "c\(k)"
            let first = t0 + Millis(k % 180) * day + Millis(k) * 60_000
            let times = sim.purchaseInstants(customer: k, first: first, until: until)
            purchases.append((id, times))
            for (j, t) in times.enumerated() { lines.append(order("e-\(k)-\(j)", id, "o-\(k)-\(j)", "completed", t)) }
        }
        // Completed on days 0, 5 and 9, the last returned on day 12: purchase days 0 and 5.
        let r = t0 + 3_600_000
        lines += [
            order("r1", "returns", "r-1", "completed", r), order("r2", "returns", "r-2", "completed", r + 5 * day),
            order("r3", "returns", "r-3", "created", r + 9 * day - 60_000), order("r4", "returns", "r-3", "completed", r + 9 * day),
            order("r5", "returns", "r-3", "returned", r + 12 * day), order("r5", "returns", "r-3", "returned", r + 12 * day),
        ]
        purchases.append(("returns", [r, r + 5 * day]))
        // Two purchases on day 0 (the second a millisecond before midnight), one at day 1's first
        // instant, one after --until (not folded).
        lines += [
            order("s1", "sameday", "s-1", "completed", t0 + 9 * 3_600_000), order("s2", "sameday", "s-2", "completed", t0 + day - 1),
            order("s3", "sameday", "s-3", "completed", t0 + day), order("s4", "sameday", "s-4", "completed", until + 1),
        ]
        purchases.append(("sameday", [t0 + 9 * 3_600_000, t0 + day - 1, t0 + day]))
        // Seen, never bought: no summary.
        lines.append(#"{"type":"product_view","event_id":"v1","customer_id":"browser","product_id":"p1","occurred_at":"2025-06-01T00:00:00Z"}"#)
        lines.append(order("n1", "pending", "n-1", "paid", t0))
        lines.reverse()
        lines.insert("this is not JSON", at: 10)
        return (lines, purchases)
    }

    @Test func churnFitWritesTheOverlayTheScoresAndTheDeadLettersOfWhatTheFoldCounts() throws {
        let dir = try CLI.temporaryDirectory()
        let events = dir.appendingPathComponent("events.jsonl").path
        let (lines, purchases) = Self.history()
        try (lines.joined(separator: "\n") + "\n").write(toFile: events, atomically: true, encoding: .utf8)
        let model = dir.appendingPathComponent("churn.yaml").path, scores = dir.appendingPathComponent("scores.jsonl").path
        let r = try CLI.rekindle([
            "churn", "fit", "--input", events, "--until", "2026-01-05T00:00:00Z", "--output", model, "--scores", scores,
        ])
        #expect(r.status == 0, "\(r.stderr)")

        // The same fit in process, from the purchases as listed above.
        let summaries = purchases.map { ($0.0, ChurnSummary(purchases: $0.1, at: Self.until)!) }
        let returns = try #require(summaries.first { $0.0 == "returns" }?.1)
        #expect(returns == ChurnSummary(x: 1, tx: 5.0 / 7, T: 364.0 / 7))
        #expect(summaries.first { $0.0 == "sameday" }?.1 == ChurnSummary(x: 1, tx: 1.0 / 7, T: 364.0 / 7))
        let fit = try BGNBDFit.fit(WeightedSummaries(summaries.map(\.1)))
        #expect(fit.customers == 302)
        let n = JSONWriter.number
        let se = fit.standardErrors
        let overlay = try String(contentsOfFile: model, encoding: .utf8)
        #expect(overlay == """
            # BG/NBD churn model fitted by `rekindle churn fit` on 302 customers' purchases up to 2026-01-05T00:00:00.000Z.
            # Standard errors: r \(n(se.r)), alpha \(n(se.alpha)), a \(n(se.a)), b \(n(se.b)).
            version: "churn-2026-01-05T00:00:00.000Z"
            families:
              churn:
                model:
                  r: \(n(fit.model.r))
                  alpha: \(n(fit.model.alpha))
                  a: \(n(fit.model.a))
                  b: \(n(fit.model.b))
                  log_likelihood: \(n(fit.logLikelihood))
                  customers: 302
                  fitted_until: "2026-01-05T00:00:00.000Z"

            """)
        // A rule file's shape: the YAML reader takes it, the version is a string, the model's
        // values are numbers (theFitsOverlayReplaysWithChurnRiskTriggers compiles and replays it).
        let tree = try RuleFile.parse(overlay)
        #expect(tree["version"] == .string("churn-2026-01-05T00:00:00.000Z"))
        #expect(tree["families"]?["churn"]?["model"]?["r"] == .number(fit.model.r))
        #expect(tree["families"]?["churn"]?["model"]?["customers"] == .number(302))
        #expect(tree["families"]?["churn"]?["model"]?["fitted_until"] == .string("2026-01-05T00:00:00.000Z"))
        #expect(r.stdout.contains("302 customers with a purchase up to 2026-01-05T00:00:00.000Z"))
        #expect(r.stdout.contains("log-likelihood: \(String(format: "%.4f", fit.logLikelihood))"))

        // One line per customer with a purchase, in first-seen order (the input is reversed): c0 at
        // t0, returns at 1 am, c180 at 3 am, sameday at 9 am, c1 the next day.
        let scoreLines = try String(contentsOfFile: scores, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(scoreLines.count == 302)
        let ids = scoreLines.prefix(4).map { (try? JSONParser.parse($0))?["customer_id"] }
        #expect(ids == [.string("c0"), .string("returns"), .string("c180"), .string("sameday")])
        let s = fit.model.score(returns, horizonWeeks: 90.0 / 7)
        let line = #"{"customer_id":"returns","x":1,"t_x":\#(n(5.0 / 7)),"T":52.0,"p_alive":\#(n(s.pAlive)),"churn_risk":\#(n(s.churnRisk)),"expected_purchases":\#(n(s.expectedPurchases))}"#
        #expect(scoreLines.contains(line), "\(scoreLines.filter { $0.contains("returns") })")
        #expect(!scoreLines.contains { $0.contains("browser") || $0.contains("pending") })
        let v = try CLI.python(["Tests/schema/validate.py", "--schemas", "schemas", "--kind", "churn_score", scores])
        #expect(v.status == 0, "\(v.stdout.suffix(2000)) \(v.stderr)")
        #expect(v.stdout.contains("302 passed, 0 failed"))

        // The bad line is a dead letter beside --output, as replay writes it.
        let dead = try String(contentsOfFile: dir.appendingPathComponent("churn.dead-letters.jsonl").path, encoding: .utf8)
        #expect(dead.split(separator: "\n").count == 1)
        #expect(dead.contains(#""line":11"#))
    }

    @Test func aHorizonChangesTheScoresAndNotTheModel() throws {
        let dir = try CLI.temporaryDirectory()
        let events = dir.appendingPathComponent("events.jsonl").path
        try Self.history().lines.joined(separator: "\n").write(toFile: events, atomically: true, encoding: .utf8)
        var outputs: [(String, String)] = []
        for h in ["90", "30"] {
            let model = dir.appendingPathComponent("m\(h).yaml").path, scores = dir.appendingPathComponent("s\(h).jsonl").path
            let r = try CLI.rekindle([
                "churn", "fit", "--input", events, "--until", "2026-01-05T00:00:00Z", "--output", model, "--scores", scores,
                "--horizon-days", h, "--dead-letters", dir.appendingPathComponent("dead\(h).jsonl").path,
            ])
            #expect(r.status == 0, "\(r.stderr)")
            outputs.append((try String(contentsOfFile: model, encoding: .utf8), try String(contentsOfFile: scores, encoding: .utf8)))
        }
        #expect(outputs[0].0 == outputs[1].0)
        #expect(outputs[0].1 != outputs[1].1)
    }

    @Test func tooFewCustomersOrNoRepeatPurchaseExitsWith2AndWritesNothing() throws {
        let dir = try CLI.temporaryDirectory()
        let model = dir.appendingPathComponent("churn.yaml").path
        let few = dir.appendingPathComponent("few.jsonl").path
        try (0..<5).map { Self.order("e\($0)", "c\($0 % 2)", "o\($0)", "completed", Self.t0 + Millis($0) * Self.day) }
            .joined(separator: "\n").write(toFile: few, atomically: true, encoding: .utf8)
        let r = try CLI.rekindle(["churn", "fit", "--input", few, "--until", "2026-01-05T00:00:00Z", "--output", model])
        #expect(r.status == 2)
        #expect(r.stderr.contains("too few customers to fit: 2 with a purchase, at least 10 needed"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: model))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("churn.dead-letters.jsonl").path))

        let once = dir.appendingPathComponent("once.jsonl").path
        try (0..<40).map { Self.order("e\($0)", "c\($0)", "o\($0)", "completed", Self.t0 + Millis($0) * Self.day) }
            .joined(separator: "\n").write(toFile: once, atomically: true, encoding: .utf8)
        let r2 = try CLI.rekindle(["churn", "fit", "--input", once, "--until", "2026-01-05T00:00:00Z", "--output", model])
        #expect(r2.status == 2)
        #expect(r2.stderr.contains("no repeat purchases"), "\(r2.stderr)")
        #expect(!FileManager.default.fileExists(atPath: model))

        let bad = try CLI.rekindle(["churn", "fit", "--input", once, "--until", "soon", "--output", model])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--until: expected RFC 3339"))
        #expect(try CLI.rekindle(["churn", "fit", "--input", once, "--until", "2026-01-05T00:00:00Z", "--output", once]).status == 2)
        #expect(try CLI.rekindle(["churn", "fit", "--input", once, "--until", "2026-01-05T00:00:00Z", "--output", model, "--horizon-days", "0"]).status == 2)
    }

    /// The fit's overlay is a rule file as it is: `rules check` takes it, and a replay with it
    /// fires `churn.risk` at the day spec 3.9 gives and carries the odds in every customer block.
    @Test func theFitsOverlayReplaysWithChurnRiskTriggers() throws {
        let dir = try CLI.temporaryDirectory()
        let events = dir.appendingPathComponent("events.jsonl").path
        let (lines, purchases) = Self.history()
        try (lines.joined(separator: "\n") + "\n").write(toFile: events, atomically: true, encoding: .utf8)
        let model = dir.appendingPathComponent("churn.yaml").path
        let fit = try CLI.rekindle(["churn", "fit", "--input", events, "--until", "2026-01-05T00:00:00Z", "--output", model])
        #expect(fit.status == 0, "\(fit.stderr)")
        let check = try CLI.rekindle(["rules", "check", model])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("churn.risk"), "\(check.stdout)")

        let out = dir.appendingPathComponent("triggers.jsonl").path
        let r = try CLI.rekindle(["replay", "--input", events, "--output", out, "--rules", model, "--now", "2027-01-01T00:00:00Z", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let triggers = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map { try JSONParser.parse(String($0)) }
        let churn = triggers.filter { $0["rule_id"] == .string("churn.risk") }
        #expect(churn.count > 50, "\(churn.count) churn.risk triggers")
        for t in triggers where t["customer"]?["completed_orders"] != .number(0) {
            #expect(t["customer"]?["p_alive"] != nil && t["customer"]?["expected_purchases"] != nil, "\(t)")
        }
        for t in churn {
            guard case .string(let at)? = t["fired_at"], let firedAt = Timestamp.parse(at) else { Issue.record("\(t)"); continue }
            #expect(firedAt % Self.day == 0, "at a day's start: \(at)")
            guard case .number(let risk)? = t["customer"]?["churn_risk"] else { Issue.record("\(t)"); continue }
            #expect(risk >= 0.66)
            #expect(t["channel"] == .string("email") && t["conversion_window_days"] == .number(14))
        }

        // `returns` (purchase days 0 and 5; the day-9 one returned on day 12), walked day by day
        // with the fitted model read back from the overlay.
        let tree = try RuleFile.parse(try String(contentsOfFile: model, encoding: .utf8))
        func p(_ k: String) -> Double {
            if case .number(let d)? = tree["families"]?["churn"]?["model"]?[k] { return d }
            return .nan
        }
        let m = ChurnModel(r: p("r"), alpha: p("alpha"), a: p("a"), b: p("b"))
        let first = ChurnSummary.day(try #require(purchases.first { $0.0 == "returns" }?.1.first))
        var d: Int64 = 6
        while m.churnRisk(ChurnSummary(x: 1, lastDay: 5, nowDay: d), horizonWeeks: 90.0 / 7) < 0.66 { d += 1 }
        let due = Timestamp.format((first + d) * Self.day)
        let mine = try #require(churn.first { $0["customer_id"] == .string("returns") && $0["fired_at"] == .string(due) }, "due \(due)")
        let s = m.score(ChurnSummary(x: 1, lastDay: 5, nowDay: d), horizonWeeks: 90.0 / 7)
        #expect(mine["customer"]?["p_alive"] == .number(s.pAlive))
        #expect(mine["customer"]?["churn_risk"] == .number(s.churnRisk))
        #expect(mine["customer"]?["expected_purchases"] == .number(s.expectedPurchases))

        let v = try CLI.python(["Tests/schema/validate.py", "--schemas", "schemas", "--kind", "trigger", "--check-trigger-ids", out])
        #expect(v.status == 0, "\(v.stdout.suffix(2000)) \(v.stderr)")

        // Without the overlay nothing carries the odds.
        let plain = dir.appendingPathComponent("plain.jsonl").path
        #expect(try CLI.rekindle(["replay", "--input", events, "--output", plain, "--now", "2027-01-01T00:00:00Z", "--quiet"]).status == 0)
        let text = try String(contentsOfFile: plain, encoding: .utf8)
        #expect(!text.contains("p_alive") && !text.contains("churn.risk"))
    }
}

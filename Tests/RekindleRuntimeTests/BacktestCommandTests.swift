import Foundation
import Testing

/// `rekindle backtest` from the command line: a generated history, a churn model fitted on its
/// first months (`rekindle churn fit`), and the winback example as the candidate; its JSON report
/// against schemas/ (Python's jsonschema), and its page in headless Chromium.
@Suite(.serialized) struct BacktestCommandTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    struct Run {
        var dir: URL
        var status: Int32
        var stdout: String
        var stderr: String
        var page: String { dir.appendingPathComponent("backtest.html").path }
        var json: String { dir.appendingPathComponent("backtest.json").path }
    }

    /// Made once for the suite's tests.
    static let run: Result<Run, any Error> = Result {
        let dir = try CLI.temporaryDirectory()
        let events = dir.appendingPathComponent("events.jsonl").path, churn = dir.appendingPathComponent("churn.yaml").path
        let generate = try CLI.rekindle([
            "generate", "--customers", "500", "--days", "150", "--seed", "9", "--bad-fraction", "0.01", "--output", events,
        ])
        guard generate.status == 0 else { throw CLIFailure(command: "generate", result: generate) }
        let fit = try CLI.rekindle(["churn", "fit", "--input", events, "--until", "2026-04-01T00:00:00Z", "--output", churn])
        guard fit.status == 0 else { throw CLIFailure(command: "churn fit", result: fit) }
        let r = try CLI.rekindle([
            "backtest", "--input", events, "--rules", churn, "--compare", "rules/examples/winback.yaml",
            "--report", dir.appendingPathComponent("backtest.html").path, "--report", dir.appendingPathComponent("backtest.json").path,
        ])
        return Run(dir: dir, status: r.status, stdout: r.stdout, stderr: r.stderr)
    }

    struct CLIFailure: Error, CustomStringConvertible {
        var command: String
        var result: CLI.Result
        var description: String { "rekindle \(command) exited \(result.status): \(result.stderr)" }
    }

    static func report(_ run: Run) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run.json))) as? [String: Any])
    }

    @Test func theJSONReportValidatesAgainstItsSchema() throws {
        let run = try Self.run.get()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("cand. revenue") && run.stdout.contains("view.abandoned_day"))
        let v = try CLI.python(["Tests/schema/validate.py", "--schemas", "schemas", "--kind", "backtest_report", run.json])
        #expect(v.status == 0, "\(v.stdout)\(v.stderr)")
        #expect(v.stdout.contains("schema: 1 passed, 0 failed"))
    }

    @Test func everyModelsRevenueAddsUpOverTheRulesToTheTotalAndTheDifferenceIsCandidateLessCurrent() throws {
        let report = try Self.report(try Self.run.get())
        let rules = try #require(report["rules"] as? [[String: Any]])
        let totals = try #require(report["totals"] as? [String: Any])
        func cents(_ metrics: Any?, _ model: String) -> Int? {
            ((metrics as? [String: Any])?["attribution"] as? [String: Any]).flatMap { ($0[model] as? [String: Any])?["revenue_cents"] as? Int }
        }
        let models = ["last_touch", "first_touch", "linear", "u_shaped"]
        for side in ["current", "candidate"] {
            let total = try #require(cents(totals[side], "last_touch"))
            #expect(total > 0)
            for model in models {
                let sum = rules.reduce(0) { $0 + (cents($1[side], model) ?? 0) }
                #expect(sum == total, "\(side) \(model): the rules add up to \(sum), the totals say \(total)")
                #expect(cents(totals[side], model) == total)
            }
        }
        for rule in rules {
            for model in models {
                #expect(cents(rule["difference"], model) == (cents(rule["candidate"], model) ?? 0) - (cents(rule["current"], model) ?? 0))
            }
        }
        // The churn section: the current rule set's model, checked from its fitted_until.
        let churn = try #require(report["churn"] as? [[String: Any]])
        #expect(churn.count == 1 && churn.first?["source"] as? String == "current")
        #expect(report["until"] as? String == "2026-04-01T00:00:00.000Z")
        let prediction = try #require(churn.first?["prediction"] as? [String: Any])
        let total = try #require(prediction["total"] as? [String: Any])
        #expect((total["actual"] as? Int ?? 0) > 0 && (total["predicted"] as? Double ?? 0) > 0)
    }

    @Test(.enabled(if: chromium != nil, "chromium is not installed (scripts/setup.sh installs it): the page test needs a headless browser"))
    func thePageDrawsEveryChartWithNoScriptErrorAndShowsTheJSONReportsNumbers() throws {
        let run = try Self.run.get()
        let browser = URL(fileURLWithPath: Self.chromium!)
        let profile = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: profile) }
        let common = ["--headless", "--disable-gpu", "--no-sandbox", "--user-data-dir=\(profile.path)", "--hide-scrollbars"]
        let pageURL = URL(fileURLWithPath: run.page).absoluteString
        let dump = try CLI.run(browser, common + ["--virtual-time-budget=10000", "--dump-dom", pageURL])
        #expect(dump.status == 0, "\(dump.stderr)")
        let dom = run.dir.appendingPathComponent("dom.html")
        try dump.stdout.write(to: dom, atomically: true, encoding: .utf8)
        let charts = "triggers,conversions,attribution-current,attribution-candidate,messages,cohorts,risk-bands-0,prediction-0"
        let check = try CLI.python(["Tests/backtest/check_page.py", dom.path, run.json, "--charts", charts])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("8 charts drawn"), "\(check.stdout)")

        // The screenshot, kept as the test's artefact.
        let artefacts = CLI.packageRoot.appendingPathComponent(".build/test-artifacts")
        try FileManager.default.createDirectory(at: artefacts, withIntermediateDirectories: true)
        let shot = artefacts.appendingPathComponent("backtest-page.png")
        try? FileManager.default.removeItem(at: shot)
        let screenshot = try CLI.run(browser, common + ["--window-size=1280,3000", "--screenshot=\(shot.path)", pageURL])
        #expect(screenshot.status == 0, "\(screenshot.stderr)")
        let size = (try? FileManager.default.attributesOfItem(atPath: shot.path)[.size] as? Int) ?? 0
        #expect(size > 10_000, "no screenshot at \(shot.path)")
    }

    @Test func aReportNamedNeitherHTMLNorJSONExits2BeforeReadingAnything() throws {
        let r = try CLI.rekindle(["backtest", "--input", "/nonexistent/events.jsonl", "--report", "report.txt"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--report: report.txt must end in .html or .json"), "\(r.stderr)")
    }
}

import Foundation
import Testing
import Yams

@testable import RekindleRuntime

/// deploy/grafana/rekindle.json and deploy/prometheus/rekindle-alerts.yaml ask only for metrics
/// Rekindle exports, and the alerts fire when (and only when) their unit tests say.
@Suite struct MonitoringTests {
    static let deploy = CLI.packageRoot.appendingPathComponent("deploy")
    static let alerts = deploy.appendingPathComponent("prometheus/rekindle-alerts.yaml")

    /// The metric names an expression refers to (`rekindle_...`; a histogram's `_bucket`, `_sum`
    /// and `_count` series under the histogram's name), and Prometheus's own `up`.
    static func metricNames(in expr: String) -> Set<String> {
        let histograms = Set(RekindleMetrics.names.filter { expr.contains($0 + "_bucket") || expr.contains($0 + "_count") || expr.contains($0 + "_sum") })
        var names = Set<String>()
        for token in expr.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }) {
            var name = String(token)
            if name == "up" { names.insert(name); continue }
            guard name.hasPrefix("rekindle_") else { continue }
            for suffix in ["_bucket", "_count", "_sum"] where name.hasSuffix(suffix) && histograms.contains(String(name.dropLast(suffix.count))) {
                name = String(name.dropLast(suffix.count))
            }
            names.insert(name)
        }
        return names
    }

    static var exported: Set<String> { Set(RekindleMetrics.names + ["up"]) }

    @Test func everyDeclaredNameIsInARealScrape() {
        let rendered = ObservabilityTests.exercised().render()
        for name in RekindleMetrics.names {
            #expect(rendered.contains("\n# TYPE \(name) ") || rendered.hasPrefix("# TYPE \(name) "), "\(name) is declared but not rendered")
        }
        #expect(Self.metricNames(in: "rate(rekindle_trigger_delay_seconds_bucket[5m]) + rekindle_nope_total") == ["rekindle_trigger_delay_seconds", "rekindle_nope_total"])
    }

    @Test func theDashboardAsksOnlyForExportedMetrics() throws {
        let data = try Data(contentsOf: Self.deploy.appendingPathComponent("grafana/rekindle.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        let ids = panels.compactMap { $0["id"] as? Int }
        #expect(Set(ids).count == panels.count, "panel ids must be unique")
        var used = Set<String>()
        for panel in panels where panel["type"] as? String != "row" {
            let targets = try #require(panel["targets"] as? [[String: Any]], "\(panel["title"] ?? "?"): no targets")
            #expect(!targets.isEmpty)
            for t in targets {
                let expr = try #require(t["expr"] as? String)
                let names = Self.metricNames(in: expr)
                #expect(!names.isEmpty, "\(panel["title"]!): \(expr) names no metric")
                #expect(names.isSubset(of: Self.exported), "\(panel["title"]!): \(names.subtracting(Self.exported)) not exported")
                used.formUnion(names)
            }
        }
        // What the issue asks to see.
        for wanted in ["rekindle_consumer_lag", "rekindle_events_in_total", "rekindle_triggers_total", "rekindle_bad_inputs_total",
                       "rekindle_snapshot_age_seconds", "rekindle_trigger_delay_seconds"] {
            #expect(used.contains(wanted), "the dashboard shows no \(wanted)")
        }
    }

    @Test func theAlertsAskOnlyForExportedMetrics() throws {
        let rules = try #require(try Yams.load(yaml: String(contentsOf: Self.alerts, encoding: .utf8)) as? [String: Any])
        let groups = try #require(rules["groups"] as? [[String: Any]])
        var alerts: [String] = []
        for rule in groups.flatMap({ ($0["rules"] as? [[String: Any]]) ?? [] }) {
            let expr = try #require(rule["expr"] as? String)
            let names = Self.metricNames(in: expr)
            #expect(!names.isEmpty && names.isSubset(of: Self.exported), "\(rule["alert"] ?? "?"): \(names)")
            alerts.append(rule["alert"] as! String)
        }
        #expect(Set(alerts).isSuperset(of: ["RekindleLagGrowing", "RekindleDeadLetters", "RekindleSnapshotWritesFailing", "RekindleSnapshotOld", "RekindleInstanceNotReady"]))
    }

    static func promtool(_ args: [String]) throws -> CLI.Result {
        let promtool = URL(fileURLWithPath: "/usr/bin/promtool")
        try #require(FileManager.default.isExecutableFile(atPath: promtool.path), "promtool is missing: apt-get install prometheus")
        return try CLI.run(promtool, args)
    }

    @Test func promtoolChecksTheRulesAndTheirUnitTestsPass() throws {
        let check = try Self.promtool(["check", "rules", Self.alerts.path])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("SUCCESS: 7 rules found"), "\(check.stdout)")
        let test = try Self.promtool(["test", "rules", Self.deploy.appendingPathComponent("prometheus/rekindle-alerts.test.yaml").path])
        #expect(test.status == 0, "\(test.stdout)\(test.stderr)")
    }
}

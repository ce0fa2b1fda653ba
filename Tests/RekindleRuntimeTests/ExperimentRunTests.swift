import Foundation
import RekindleCore
import RekindleKafka
@testable import RekindleRuntime
import RekindleTooling
import Testing

/// Spec 7.1 and 7.2 through the runtime: the withheld file and topic, live equal to replay, lift
/// in the reports and the metrics.
@Suite(.serialized) struct ExperimentRunTests {
    static let rulesText = """
        {"version": "exp", "experiments": {"name": "spring", "global_control": 0.05, "holdout": 0.2,
          "rules": {"view.abandoned": {"holdout": 0.5}}}}
        """
    static let rules: RuleSet = {
        do { return try RuleSet(overlay: JSONParser.parse(rulesText)) } catch { fatalError("\(error)") }
    }()

    /// The experiments and a policy (caps and a priority): live must equal replay with both.
    static let pressured: RuleSet = {
        let text = """
            {"version": "exp-caps", "experiments": {"name": "spring", "global_control": 0.05, "holdout": 0.2},
             "policy": {"caps": [{"channel": "email", "max": 1, "per_days": 7}, {"channel": "any", "max": 3, "per_days": 30}],
                        "rules": {"vip.entered": {"priority": 5}}}}
            """
        do { return try RuleSet(overlay: JSONParser.parse(text)) } catch { fatalError("\(error)") }
    }()

    static func withheld(_ r: Replay.Result) -> [String] { r.withheld.map { String(decoding: $0.json, as: UTF8.self) } }

    @Test func replayOnOneOrFourPartitionsWithholdsTheSameTouchesAndCountsTheSameLift() throws {
        let lines = ReplayFixture.generated(customers: 800, days: 60, seed: 5)
        let one = ReplayFixture.replay(lines, rules: Self.rules)
        let four = ReplayFixture.replay(lines, partitions: 4, rules: Self.rules)
        #expect(one.withheld.count > 100)
        // (Recommendations come from each task's own model, so compare the touches, not their bytes.)
        #expect(Set(one.withheld.map(\.triggerId)) == Set(four.withheld.map(\.triggerId)))
        #expect(one.report.lines.map(\.lift) == four.report.lines.map(\.lift), "lift is per customer: any partitioning")
        // Every withheld touch's reason is the draw's, recomputed from the customer id alone.
        let e = try #require(Self.rules.experiments)
        for t in one.withheld {
            let k = try #require(Self.rules.rules.firstIndex { $0.id == t.ruleId })
            let global = Experiments.draw(experiment: "spring", scope: "global", customerId: t.customerId) < 0.05
            #expect(t.withheld == (global ? .globalControl : .holdout))
            #expect(global || Experiments.draw(experiment: "spring", scope: t.ruleId, customerId: t.customerId) < e.holdout[k])
        }
        // No sent trigger goes to a customer the draw holds out of its rule.
        for t in one.triggers {
            let k = try #require(Self.rules.rules.firstIndex { $0.id == t.ruleId })
            #expect(!e.heldOut(rule: k, ruleId: t.ruleId, t.customerId) && !e.inGlobalControl(t.customerId))
        }
        // The report's withheld counts are the withheld touches, by rule and reason.
        for line in one.report.lines {
            let mine = one.withheld.filter { $0.ruleId == line.ruleId }
            #expect(line.withheld[.holdout, default: 0] == mine.filter { $0.withheld == .holdout }.count)
            #expect(line.withheld[.globalControl, default: 0] == mine.filter { $0.withheld == .globalControl }.count)
        }
        let abandoned = try #require(one.report.lines.first { $0.ruleId == "view.abandoned" }?.lift)
        #expect(abandoned.control.customers > 30 && abandoned.treated.customers > 30)
        let json = String(decoding: one.report.json, as: UTF8.self)
        #expect(json.contains(#""experiment":"spring""#))
        #expect(json.contains(#""ci95":["#))
        #expect(one.report.table.contains("95% CI"))
    }

    @Test func replayWritesTheWithheldFileBesideTheOutputOnlyWhenTheRulesHaveExperiments() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rekindle-exp-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lines = ReplayFixture.generated(customers: 300, days: 40, seed: 9)
        try (lines.joined(separator: "\n") + "\n").write(toFile: "\(dir)/events.jsonl", atomically: true, encoding: .utf8)
        try Self.rulesText.write(toFile: "\(dir)/rules.json", atomically: true, encoding: .utf8)
        for partitions in [1, 3] {
            var job = ReplayJob(inputs: ["\(dir)/events.jsonl"], output: "\(dir)/p\(partitions).jsonl")
            job.rulesPath = "\(dir)/rules.json"
            job.partitions = partitions
            job.checks.reference = Millis(2_100_000_000_000)
            _ = try job.run()
            let written = try String(contentsOfFile: "\(dir)/p\(partitions).withheld.jsonl", encoding: .utf8)
            let expected = ReplayFixture.replay(lines, partitions: partitions, rules: Self.rules)
            #expect(written == Self.withheld(expected).map { $0 + "\n" }.joined(), "\(partitions) partitions")
        }
        var plain = ReplayJob(inputs: ["\(dir)/events.jsonl"], output: "\(dir)/plain.jsonl")
        plain.checks.reference = Millis(2_100_000_000_000)
        _ = try plain.run()
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/plain.withheld.jsonl"), "no experiments: the files of before")
    }

    @Test func runRefusesToStartWithoutTheWithheldTopicWhenTheRulesCanWithhold() throws {
        let cluster = try MockCluster()
        defer { cluster.close() }
        let topics = TopicNames()
        for name in topics.all where name != topics.withheld { try cluster.createTopic(name, partitions: 1) }
        var options = LiveOptions(bootstrap: cluster.bootstrapServers)
        options.stopWhenIdleSeconds = 0
        for rules in [Self.rules, try RuleSet(overlay: JSONParser.parse(#"{"version": "p", "policy": {"caps": []}}"#))] {
            options.rules = rules
            do {
                _ = try LiveRunner(options: options).run()
                Issue.record("ran without \(topics.withheld)")
            } catch {
                #expect("\(error)".contains("output topic campaign-withheld not found"), "\(error)")
            }
        }
    }

    @Test func liveWithholdsToItsTopicAsReplayDoesAndCountsLiftInTheMetrics() throws {
        let p = 2
        let lines = ReplayFixture.generated(customers: 400, days: 50, seed: 21)
        let cluster = try LiveKafka.cluster(partitions: p)
        defer { cluster.close() }
        try LiveKafka.produce(lines, to: cluster)
        var options = LiveOptions(bootstrap: cluster.bootstrapServers)
        options.groupId = "exp-test"
        options.rules = Self.pressured
        options.stopWhenIdleSeconds = 0.5
        let metrics = RekindleMetrics()
        let summary = try LiveRunner(options: options, metrics: metrics).run()

        let replay = ReplayFixture.replay(lines, partitions: p, rules: Self.pressured)
        let live = try LiveKafka.readAll("campaign-withheld", from: cluster, partitions: p)
        #expect(!live.isEmpty)
        #expect(replay.withheld.contains { $0.withheld == .cap } && replay.withheld.contains { $0.withheld == .holdout })
        #expect(live.map { String(decoding: $0.value, as: UTF8.self) }.sorted() == Self.withheld(replay).sorted())
        let sent = try LiveKafka.readAll("campaign-triggers", from: cluster, partitions: p)
        #expect(sent.map { String(decoding: $0.value, as: UTF8.self) }.sorted()
            == replay.triggers.map { String(decoding: $0.json, as: UTF8.self) }.sorted())
        #expect(summary.report.lines.map(\.lift) == replay.report.lines.map(\.lift), "run's final report")

        let text = metrics.render()
        let abandoned = try #require(replay.report.lines.first { $0.ruleId == "view.abandoned" }?.lift)
        #expect(text.contains(#"rekindle_experiment_customers_total{rule="view.abandoned",group="control"} \#(abandoned.control.customers)"#))
        #expect(text.contains(#"rekindle_experiment_customers_total{rule="view.abandoned",group="treated"} \#(abandoned.treated.customers)"#))
        #expect(text.contains(#"rekindle_experiment_converted_customers_total{rule="view.abandoned",group="control"} \#(abandoned.control.converted)"#))
        let holdouts = replay.withheld.filter { $0.ruleId == "view.abandoned" && $0.withheld == .holdout }.count
        #expect(text.contains(#"rekindle_withheld_total{rule="view.abandoned",reason="holdout"} \#(holdouts)"#))
    }
}

/// The command line: `rekindle replay --rules` with experiments writes the withheld file, which
/// the withheld schema (someone else's validator) accepts, and triggers that carry no reason.
@Suite struct ExperimentCommandTests {
    @Test func replayWithExperimentsWritesSchemaValidWithheldTouchesAndALiftReport() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let events = dir.appendingPathComponent("events.jsonl").path
        let rules = dir.appendingPathComponent("rules.yaml").path
        #expect(try CLI.rekindle(["generate", "--customers", "400", "--days", "40", "--seed", "4", "--output", events]).status == 0)
        try """
            version: "exp"
            experiments:
              name: "spring"
              global_control: 0.05
              holdout: 0.3
            """.write(toFile: rules, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out.jsonl").path, withheld = dir.appendingPathComponent("held.jsonl").path
        let report = dir.appendingPathComponent("report.json").path
        let run = try CLI.rekindle([
            "replay", "--input", events, "--rules", rules, "--output", out, "--withheld", withheld, "--report", report,
            "--now", "2027-01-01T00:00:00Z",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("experiment \"spring\": withheld touches and lift by rule"))
        let v = try CLI.python(["Tests/schema/validate.py", "--schemas", "schemas", "--kind", "withheld", "--check-trigger-ids", withheld])
        #expect(v.status == 0 && !v.stdout.contains("schema: 0 passed"), "\(v.stdout.suffix(2000)) \(v.stderr)")
        let t = try CLI.python(["Tests/schema/validate.py", "--schemas", "schemas", "--kind", "withheld", "--expect-invalid", out])
        #expect(t.status == 0, "no sent trigger carries a withheld reason: \(t.stdout.suffix(500))")
        let json = try String(contentsOfFile: report, encoding: .utf8)
        #expect(json.contains(#""lift":{"holdout":0.3,"treated":{"customers":"#))
        let bad = try CLI.rekindle(["rules", "check", rules.replacingOccurrences(of: "rules.yaml", with: "bad.yaml")])
        #expect(bad.status != 0)
        try "version: \"x\"\nexperiments: {name: \"s\", holdout: 1.5}\n".write(
            toFile: rules.replacingOccurrences(of: "rules.yaml", with: "bad.yaml"), atomically: true, encoding: .utf8)
        let refused = try CLI.rekindle(["rules", "check", rules.replacingOccurrences(of: "rules.yaml", with: "bad.yaml")])
        #expect(refused.status == 2 && refused.stderr.contains("experiments.holdout: expected a number from 0 to 1, got number 1.5"))
    }
}

/// Spec 7.2's evidence: on a stream where sent touches of one rule truly cause purchases (planted
/// by `PlantedUplift`), the report recovers the planted lift within its interval, and finds none
/// where none was planted.
@Suite struct PlantedUpliftTests {
    @Test func theReportRecoversAPlantedLiftAndFindsNoneWhereNoneWasPlanted() throws {
        let rules = try RuleSet(overlay: JSONParser.parse("""
            {"version": "evidence", "experiments": {"name": "evidence",
              "rules": {"view.abandoned": {"holdout": 0.5}, "stage.prospect": {"holdout": 0.5}}}}
            """))
        let base = ReplayFixture.generated(customers: 4000, days: 60, seed: 3)
        let planted = PlantedUplift(rules: rules, uplift: ["view.abandoned": 0.10], seed: 3).plant(base)
        let what = try #require(planted.planted["view.abandoned"])
        #expect(what.treated > 1000 && what.added > 50)
        #expect(planted.lines.count == base.count + what.added)

        let report = ReplayFixture.replay(planted.lines, rules: rules).report
        func estimate(_ rule: String) throws -> LiftEstimate {
            let counts = try #require(report.lines.first { $0.ruleId == rule }?.lift)
            return try #require(LiftEstimate(counts))
        }
        let abandoned = try estimate("view.abandoned")
        let interval = try #require(abandoned.interval)
        #expect(interval.lower <= 0.10 && 0.10 <= interval.upper, "the planted 10 points are inside \(interval)")
        #expect(try #require(abandoned.pValue) < 0.05)
        let prospect = try estimate("stage.prospect")
        let none = try #require(prospect.interval)
        #expect(none.lower <= 0 && 0 <= none.upper, "no lift planted: 0 is inside \(none)")
        #expect(try #require(prospect.pValue) > 0.05)

        // Without the planted purchases the same rule shows no lift either: the effect is the planting.
        let counts = try #require(ReplayFixture.replay(base, rules: rules).report.lines.first { $0.ruleId == "view.abandoned" }?.lift)
        let unplanted = try #require(LiftEstimate(counts))
        let unplantedInterval = try #require(unplanted.interval)
        #expect(unplantedInterval.lower <= 0 && 0 <= unplantedInterval.upper)
    }
}

import Foundation
import RekindleCore
import RekindleRuntime
import Testing

@Suite(.serialized) struct CommandLineTests {
    func write(_ text: String, _ name: String) throws -> String {
        let url = try CLI.temporaryDirectory().appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func rulesCheckPrintsTheEffectiveRulesAndVersionOfAGoodFile() throws {
        let file = try write("""
            version: shop-2026-05
            families:
              rf:
                rules:
                  rf.new: {days: 12}
              views:
                rules:
                  view.abandoned_day: {like: view.abandoned, delay_minutes: 1440}
            """, "rules.yaml")
        let r = try CLI.rekindle(["rules", "check", file])
        #expect(r.status == 0)
        #expect(r.stdout.contains("# rules: shop-2026-05"))
        #expect(r.stdout.contains("view.abandoned_day"))
        let hash = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("# rules_version: ") })
        let expected = try RuleFile.load(path: file).hash
        #expect(hash == "# rules_version: \(expected)")
        #expect(expected != RuleSet.defaults.hash)
    }

    @Test func aBadRuleFileExitsWith2AndSaysWhatIsWrongWhere() throws {
        let file = try write("version: x\nfamilies:\n  rf:\n    rules:\n      rf.new: {days: soon}\n", "bad.yaml")
        let r = try CLI.rekindle(["rules", "check", file])
        #expect(r.status == 2)
        #expect(r.stderr.contains(#"bad.yaml: families.rf.rules.rf.new.days: expected a number from 0 to 36500, got string "soon""#))
        let notYAML = try write("version: [unclosed\n", "broken.yaml")
        #expect(try CLI.rekindle(["rules", "check", notYAML]).status == 2)
        #expect(try CLI.rekindle(["rules", "check", "/nonexistent.yaml"]).status == 2)
    }

    @Test func aBadFlagExitsWith2() throws {
        #expect(try CLI.rekindle(["replay", "--input", "x", "--output", "y", "--partitions", "0"]).status == 2)
        #expect(try CLI.rekindle(["replay", "--output", "y"]).status == 2)
        let r = try CLI.rekindle(["replay", "--input", "x", "--output", "y", "--until", "tomorrow"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--until: expected RFC 3339"))
        #expect(try CLI.rekindle(["replay", "--input", "/nonexistent", "--output", "/tmp/x"]).status == 2)
        #expect(try CLI.rekindle(["generate", "--bad-fraction", "2"]).status == 2)
        #expect(try CLI.rekindle(["--help"]).status == 0)
    }

    @Test func theShippedDefaultRuleFileIsExactlyTheDefaults() throws {
        let shipped = try String(contentsOf: CLI.packageRoot.appendingPathComponent("rules/default.yaml"), encoding: .utf8)
        #expect(shipped == RuleFile.defaultFileText, "regenerate with: rekindle rules defaults > rules/default.yaml")
        let loaded = try RuleFile.load(path: CLI.packageRoot.appendingPathComponent("rules/default.yaml").path)
        #expect(loaded.hash == RuleSet.defaults.hash)
    }

    /// Every emitted message validates against schemas/ with Python's jsonschema (someone else's
    /// validator), and so does every good input line of the generated stream.
    @Test func everyEmittedMessageValidatesAgainstTheSchemas() throws {
        let dir = try CLI.temporaryDirectory()
        let events = dir.appendingPathComponent("events.jsonl").path
        let triggers = dir.appendingPathComponent("triggers.jsonl").path
        let gen = try CLI.rekindle(["generate", "--customers", "800", "--days", "100", "--seed", "3",
                                    "--bad-fraction", "0.02", "--output", events])
        #expect(gen.status == 0)
        let replay = try CLI.rekindle(["replay", "--input", events, "--output", triggers, "--partitions", "2",
                                       "--report", dir.appendingPathComponent("report.json").path])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout.contains("view.abandoned"))
        let conversions = dir.appendingPathComponent("triggers.conversions.jsonl").path
        let dead = dir.appendingPathComponent("triggers.dead-letters.jsonl").path
        let good = dir.appendingPathComponent("good-events.jsonl").path
        // The good input lines: everything not in the dead letters.
        let deadLines = Set(try String(contentsOfFile: dead, encoding: .utf8).split(separator: "\n").compactMap { line -> Int? in
            guard case .object? = try? JSONParser.parse(String(line)), let v = try? JSONParser.parse(String(line)),
                case .number(let n)? = v["source"]?["line"] else { return nil }
            return Int(n)
        })
        #expect(deadLines.count > 10)
        let all = try String(contentsOfFile: events, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let goodLines = all.enumerated().filter { !deadLines.contains($0.offset + 1) && !$0.element.isEmpty }.map(\.element)
        try goodLines.joined(separator: "\n").write(toFile: good, atomically: true, encoding: .utf8)
        let validate = "Tests/schema/validate.py"
        for (kind, file) in [("trigger", triggers), ("conversion", conversions), ("dead_letter", dead), ("event", good)] {
            var args = [validate, "--schemas", "schemas", "--kind", kind, file]
            if kind == "trigger" { args.insert("--check-trigger-ids", at: 1) }
            let r = try CLI.python(args)
            #expect(r.status == 0, "\(kind): \(r.stdout.suffix(2000)) \(r.stderr)")
            #expect(r.stdout.contains(" 0 failed"), "\(kind)")
        }
        // The dead letters are exactly the bad lines, and all of them.
        let report = try JSONParser.parse(try String(contentsOfFile: dir.appendingPathComponent("report.json").path, encoding: .utf8))
        #expect(report["bad_inputs"] == .number(Double(deadLines.count)))
    }

    /// The schemas and the decoder agree on the hand-written fixtures.
    @Test func theDecoderAcceptsExactlyWhatTheEventSchemaAccepts() throws {
        let dir = CLI.packageRoot.appendingPathComponent("Tests/schema/examples")
        for line in try String(contentsOf: dir.appendingPathComponent("valid_events.jsonl"), encoding: .utf8)
            .split(separator: "\n") {
            if case .failure(let e) = EventDecoder.decode(String(line)) { Issue.record("rejected \(line): \(e)") }
        }
        for line in try String(contentsOf: dir.appendingPathComponent("invalid_events.jsonl"), encoding: .utf8)
            .split(separator: "\n") {
            if case .success = EventDecoder.decode(String(line)) { Issue.record("accepted \(line)") }
        }
    }
}

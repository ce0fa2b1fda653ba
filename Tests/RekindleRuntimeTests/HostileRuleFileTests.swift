import Foundation
import RekindleCore
@testable import RekindleRuntime
import Testing

/// Rule files and settings a hostile-but-realistic user gives: each is refused with the key,
/// the range and where it came from, or runs; none crashes the process.
@Suite struct HostileRuleFileTests {
    static func write(_ text: String, _ name: String = "rules.yaml") throws -> String {
        let url = try CLI.temporaryDirectory().appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// A few events of three customers, at the first and last instants an event can have.
    static let events = """
        {"type":"order","event_id":"e1","customer_id":"c1","order_id":"o1","status":"completed","occurred_at":"0001-01-01T00:00:00Z","total":10,"items":[{"product_id":"p1","quantity":1}]}
        {"type":"product_view","event_id":"e2","customer_id":"c1","product_id":"p2","occurred_at":"0001-01-01T00:00:01Z"}
        {"type":"order","event_id":"e3","customer_id":"c2","order_id":"o2","status":"completed","occurred_at":"2026-01-01T00:00:00Z","total":20,"items":[{"product_id":"p2","quantity":1}]}
        {"type":"order","event_id":"e4","customer_id":"c2","order_id":"o3","status":"completed","occurred_at":"2026-02-01T00:00:00Z","total":20}
        {"type":"email_open","event_id":"e5","customer_id":"c2","message_id":"m","occurred_at":"2026-03-01T00:00:00Z"}
        {"type":"product_view","event_id":"e6","customer_id":"c3","product_id":"p1","occurred_at":"9999-12-31T23:00:00Z"}
        {"type":"order","event_id":"e7","customer_id":"c3","order_id":"o4","status":"completed","occurred_at":"9999-12-31T23:59:59.999Z","total":5}
        {"type":"order","event_id":"e8","customer_id":"c1","order_id":"o5","status":"completed","occurred_at":"9999-12-31T23:59:59.999Z","total":5}

        """

    static func replay(rules: String) throws -> CLI.Result {
        let dir = try CLI.temporaryDirectory()
        let input = dir.appendingPathComponent("events.jsonl")
        try events.write(to: input, atomically: true, encoding: .utf8)
        return try CLI.rekindle(["replay", "--input", input.path, "--output", dir.appendingPathComponent("t.jsonl").path,
                                 "--rules", rules, "--quiet"])
    }

    @Test func theReportedCrashingValuesAreRefusedByRulesCheckAndReplayAlike() throws {
        let cases: [(String, String)] = [
            ("rf:\n    rules:\n      rf.new: {days: 1e12}", "families.rf.rules.rf.new.days: expected a number from 0 to 36500"),
            ("rf:\n    rules:\n      rf.new: {days: 100000000000, second_touch_days: 100000000000}",
             "families.rf.rules.rf.new.days: expected a number from 0 to 36500"),
            ("stage:\n    rules:\n      stage.lapsed: {factor: 1000}",
             "families.stage.rules.stage.lapsed.factor: expected a number > 0 and <= 100"),
        ]
        for (families, message) in cases {
            let file = try Self.write("version: x\nfamilies:\n  \(families)\n")
            let check = try CLI.rekindle(["rules", "check", file])
            #expect(check.status == 2, "\(check.stderr)")
            #expect(check.stderr.contains("\(file): \(message)"), "\(check.stderr)")
            let replay = try Self.replay(rules: file)
            #expect(replay.status == 2, "\(replay.stderr)")
            #expect(replay.stderr.contains(message), "\(replay.stderr)")
        }
        let shop = try Self.write("version: x\nshop: {mean_interval_days: 1e11}\n")
        let r = try CLI.rekindle(["rules", "check", shop])
        #expect(r.status == 2)
        #expect(r.stderr.contains("shop.mean_interval_days: expected a number from 0 to 36500, got number 100000000000"))
    }

    @Test func theLargestAcceptedRulesReplayEventsFromYear0001To9999() throws {
        let file = try Self.write(RuleRangeFixtures.maximal, "max.json")
        #expect(try CLI.rekindle(["rules", "check", file]).status == 0)
        let r = try Self.replay(rules: file)
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func anAliasBombIsRefusedAtOnce() throws {
        var text = "version: x\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        var previous = "a"
        for name in ["b", "c", "d", "e", "f", "g", "h", "i"] {
            text += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ",") + "]\n"
            previous = name
        }
        let file = try Self.write(text)
        let started = ContinuousClock.now
        let r = try CLI.rekindle(["rules", "check", file])
        #expect(started.duration(to: .now) < .seconds(10))
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(file): a: YAML anchors and aliases are not allowed in a rule file"), "\(r.stderr)")
        let alias = try Self.write("version: x\nshop: &s {channel: sms}\n")
        #expect(try CLI.rekindle(["rules", "check", alias]).stderr.contains("shop: YAML anchors and aliases are not allowed"))
    }

    @Test func aHugeOrNonRegularFileIsRefusedBeforeParsing() throws {
        let dir = try CLI.temporaryDirectory()
        let big = dir.appendingPathComponent("big.yaml")
        try Data(repeating: 0x20, count: RuleFile.maxBytes + 1).write(to: big)
        let r = try CLI.rekindle(["rules", "check", big.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("the rule file is larger than 16 MiB"), "\(r.stderr)")
        for path in ["/dev/zero", dir.path] {
            let s = try CLI.rekindle(["rules", "check", path])
            #expect(s.status == 2)
            // The command's input check speaks first (RuleFile.readText would say "not a regular file").
            #expect(s.stderr.contains("rules check: \(path) is a ") && s.stderr.contains("not a file or a pipe"), "\(s.stderr)")
        }
        let config = try CLI.rekindle(["run", "--config", "/dev/zero"])
        #expect(config.status == 2)
        #expect(config.stderr.contains("/dev/zero: the configuration file is not a regular file"), "\(config.stderr)")
    }

    @Test func aYAMLErrorShowsAShortExcerptOfALongLine() throws {
        let long = String(repeating: "x", count: 400_000)
        let file = try Self.write("version: x\nshop: [\(long), @bad, \(long)]\n")
        let r = try CLI.rekindle(["rules", "check", file])
        #expect(r.status == 2)
        #expect(r.stderr.contains("not valid YAML: line 2, column 400010: found character that cannot start any token"),
                "\(r.stderr.prefix(300))")
        #expect(r.stderr.contains("xxx, @bad, xxx"), "\(r.stderr.prefix(300))")
        #expect(r.stderr.utf8.count < 1_000, "\(r.stderr.utf8.count) bytes of error")
    }

    /// 40,000 rules `like:` another: the overlay looks rules up by id, not by scanning (in a debug
    /// build this took 77 s for 30,000 rules, and 119,000 took minutes; now about 5 s and 18 s).
    @Test func manyLikeRulesAreCheckedInLinearTime() throws {
        var text = "version: many\nfamilies:\n  rf:\n    rules:\n"
        for k in 0..<40_000 { text += "      r\(k): {like: rf.new}\n" }
        let file = try Self.write(text)
        let started = ContinuousClock.now
        let r = try CLI.rekindle(["rules", "check", file])
        let took = started.duration(to: .now)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("r39999"))
        #expect(took < .seconds(45), "\(took)")
    }
}

/// Settings from a file, the environment or a flag: ranges, and errors that say where the value came from.
@Suite struct HostileSettingsTests {
    static func run(_ args: [String], env: [String] = []) throws -> CLI.Result {
        try CLI.run(URL(fileURLWithPath: "/usr/bin/env"), env + [CLI.binary.path, "run"] + args)
    }

    @Test func outOfRangeSettingsAreRefusedNamingTheirSource() throws {
        let lateness = try HostileRuleFileTests.write("bootstrap: 127.0.0.1:1\nallowed_lateness_ms: 9223372036854775807\n")
        var r = try Self.run(["--config", lateness, "--http", "off"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(lateness): allowed_lateness_ms: expected a whole number from 0 to 315360000000"), "\(r.stderr)")

        r = try Self.run(["--bootstrap", "127.0.0.1:1", "--http", "off"], env: ["REKINDLE_ALLOWED_LATENESS_MS=9000000000000000000"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("REKINDLE_ALLOWED_LATENESS_MS: expected a whole number from 0 to 315360000000"), "\(r.stderr)")

        let interval = try HostileRuleFileTests.write("bootstrap: 127.0.0.1:1\nsnapshot_interval_seconds: 1e300\n")
        r = try Self.run(["--config", interval, "--http", "off"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(interval): snapshot_interval_seconds: expected a number from 0.01 to 86400"), "\(r.stderr)")

        r = try Self.run(["--bootstrap", "127.0.0.1:1", "--http", "off", "--stop-when-idle", "1e300"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--stop-when-idle: expected a number from 0 to 604800"), "\(r.stderr)")

        r = try Self.run(["--bootstrap", "127.0.0.1:1", "--http", "off", "--snapshot-interval", "0"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--snapshot-interval: expected a number from 0.01 to 86400"), "\(r.stderr)")

        let numericName = try HostileRuleFileTests.write("bootstrap: 127.0.0.1:1\ngroup_id: 1e300\nsnapshot_every_events: 0\n")
        r = try Self.run(["--config", numericName, "--http", "off"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(numericName): snapshot_every_events: expected a whole number from 1 to 1000000000"), "\(r.stderr)")
    }

    @Test func aBadValueIsReportedAsTheFileKeyTheVariableOrTheFlagItCameFrom() throws {
        let file = try HostileRuleFileTests.write("bootstrap: 127.0.0.1:1\nhttp: nonsense\n")
        var r = try Self.run(["--config", file])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(file): http: expected HOST:PORT or off"), "\(r.stderr)")
        r = try Self.run(["--bootstrap", "127.0.0.1:1"], env: ["REKINDLE_HTTP=nonsense"])
        #expect(r.stderr.contains("REKINDLE_HTTP: expected HOST:PORT or off"), "\(r.stderr)")
        r = try Self.run(["--config", file, "--http", "bad"], env: ["REKINDLE_HTTP=nonsense"])
        #expect(r.stderr.contains("--http: expected HOST:PORT or off, got \"bad\""), "\(r.stderr)")
    }

    @Test func theRangesAreDocumentedWhereTheReadmePoints() throws {
        let doc = try String(contentsOf: CLI.packageRoot.appendingPathComponent("docs/ranges.md"), encoding: .utf8)
        #expect(doc == RuleFile.rangesDocText, "regenerate with: rekindle rules ranges > docs/ranges.md")
        let readme = try String(contentsOf: CLI.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("(docs/ranges.md)"))
    }
}

/// The largest spans and factors a rule file accepts (Tests/Fixtures/maximal-rules.json, shared
/// with RekindleCoreTests.RuleRangeTests).
enum RuleRangeFixtures {
    static var maximal: String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/maximal-rules.json")
        return (try? String(contentsOf: url, encoding: .utf8)) ?? "missing \(url.path)"
    }
}

/// SIGHUP with a rule file that cannot be loaded: the running rules stay and the process goes on.
@Suite struct HostileReloadTests {
    static func waitFor(_ text: String, in log: URL, after offset: Int = 0) -> Bool {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let content = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if content.utf8.count > offset, String(decoding: Array(content.utf8.dropFirst(offset)), as: UTF8.self).contains(text) {
                return true
            }
            usleep(20_000)
        }
        return false
    }

    static func logSize(_ log: URL) -> Int { ((try? Data(contentsOf: log)) ?? Data()).count }

    @Test func aReloadOfARuleFileThatFailsToLoadKeepsTheRunningRules() throws {
        let (broker, bootstrap) = try KcatTests.startBroker(partitions: 1)
        defer { broker.terminate(); broker.waitUntilExit() }
        let dir = try CLI.temporaryDirectory()
        let events = dir.appendingPathComponent("events.jsonl")
        let recent = HostileRuleFileTests.events.split(separator: "\n").filter { $0.contains("2026-") }
        try (recent.joined(separator: "\n") + "\n").write(to: events, atomically: true, encoding: .utf8)
        #expect(try CLI.rekindle(["produce", "--bootstrap", bootstrap, "--input", events.path]).status == 0)
        let rules = dir.appendingPathComponent("rules.yaml")
        try "version: good\n".write(to: rules, atomically: true, encoding: .utf8)
        let log = dir.appendingPathComponent("run.log")
        let p = try KillTests.start(["run", "--bootstrap", bootstrap, "--rules", rules.path, "--http", "off",
                                     "--group-id", "reload-test"], log: log)
        defer { if p.isRunning { p.terminate(); p.waitUntilExit() } }
        try #require(Self.waitFor("assigned", in: log), "the run never got its partitions")

        let bad = [
            "version: bad\nfamilies:\n  rf:\n    rules:\n      rf.new: {days: 100000000000, second_touch_days: 100000000000}\n",
            "version: bad\nshop: &s {channel: sms}\n",
            "version: [unclosed\n",
        ]
        for text in bad {
            let mark = Self.logSize(log)
            try text.write(to: rules, atomically: true, encoding: .utf8)
            kill(p.processIdentifier, SIGHUP)
            #expect(Self.waitFor("rules not reloaded", in: log, after: mark), "\(text)")
            #expect(p.isRunning, "\(text)")
        }
        let content = try String(contentsOf: log, encoding: .utf8)
        #expect(content.contains("\(rules.path): families.rf.rules.rf.new.days: expected a number from 0 to 36500"), "\(content)")
        // The process goes on: a good file is still taken.
        let mark = Self.logSize(log)
        try "version: better\nfamilies:\n  rf:\n    rules:\n      rf.new: {days: 12}\n".write(to: rules, atomically: true, encoding: .utf8)
        kill(p.processIdentifier, SIGHUP)
        #expect(Self.waitFor("rules reloaded", in: log, after: mark))
        p.terminate()
        p.waitUntilExit()
        let end = try String(contentsOf: log, encoding: .utf8)
        #expect(p.terminationReason == .exit && p.terminationStatus == 0, "\(end.suffix(2000))")
    }
}

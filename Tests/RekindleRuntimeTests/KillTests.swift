import Foundation
import RekindleCore
@testable import RekindleRuntime
import RekindleTooling
import Testing

/// The real-process proof of spec section 5: `rekindle run` killed with SIGKILL at random moments
/// and restarted from its snapshots leaves every trigger, conversion and dead letter on its topic
/// exactly once, as `rekindle replay` computes them.
@Suite(.serialized) struct KillTests {
    static func start(_ args: [String], log: URL) throws -> Process {
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = args
        p.currentDirectoryURL = CLI.packageRoot
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        return p
    }

    static func topic(_ bootstrap: String, _ name: String) throws -> [String] {
        let r = try CLI.run(URL(fileURLWithPath: "/usr/bin/kcat"), ["-b", bootstrap, "-C", "-t", name, "-e", "-q", "-f", "%s\\n"])
        return r.stdout.split(separator: "\n").map(String.init).sorted()
    }

    @Test func sigkillAtRandomMomentsThenRestartLeavesEveryOutputExactlyOnce() throws {
        // 8 partitions: the embedded broker keeps only ~5 MiB per partition, and 31k triggers are ~12 MB.
        let (broker, bootstrap) = try KcatTests.startBroker(partitions: 8)
        defer { broker.terminate(); broker.waitUntilExit() }
        let dir = try CLI.temporaryDirectory()
        let events = dir.appendingPathComponent("events.jsonl").path
        #expect(try CLI.rekindle(["generate", "--customers", "5000", "--days", "100", "--seed", "41", "--bad-fraction", "0.01",
                                  "--output", events]).status == 0)
        #expect(try CLI.rekindle(["produce", "--bootstrap", bootstrap, "--input", events]).status == 0)
        let snapshots = dir.appendingPathComponent("snapshots").path
        let common = ["run", "--bootstrap", bootstrap, "--group-id", "kill-test", "--http", "off",
                      "--snapshot-dir", snapshots, "--snapshot-interval", "0.1", "--snapshot-every-events", "2000"]
        var rng = SplitMix64(seed: 2026)
        var partial: [Int] = []
        for round in 0..<3 {
            let log = dir.appendingPathComponent("run-\(round).log")
            let p = try Self.start(common, log: log)
            // Wait until it holds partitions and has delivered something of its own (conditions,
            // with a deadline: how long that takes depends on the build and the machine's load),
            // then crash it at a random moment of its processing (fault injection).
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline, !((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("assigned") {
                usleep(20_000)
            }
            let before = partial.last ?? 0
            while Date() < deadline, try Self.topic(bootstrap, "campaign-triggers").count <= before { usleep(50_000) }
            usleep(useconds_t(rng.next() % 1_000_000))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            #expect(p.terminationReason == .uncaughtSignal, "round \(round) was killed, not finished")
            partial.append(try Self.topic(bootstrap, "campaign-triggers").count)
        }
        let last = try CLI.rekindle(common + ["--stop-when-idle", "1"])
        #expect(last.status == 0, "\(last.stderr.suffix(2000))")

        let replayed = dir.appendingPathComponent("replay.jsonl").path
        #expect(try CLI.rekindle(["replay", "--input", events, "--output", replayed, "--partitions", "8", "--quiet"]).status == 0)
        let want = try String(contentsOfFile: replayed, encoding: .utf8).split(separator: "\n").map(String.init).sorted()
        let wantConversions = try String(contentsOfFile: dir.appendingPathComponent("replay.conversions.jsonl").path, encoding: .utf8)
            .split(separator: "\n").map(String.init).sorted()
        let wantDead = try String(contentsOfFile: dir.appendingPathComponent("replay.dead-letters.jsonl").path, encoding: .utf8)
            .split(separator: "\n").count
        let triggers = try Self.topic(bootstrap, "campaign-triggers")
        #expect(want.count > 1000)
        expectSameLines(triggers, want, "triggers")
        // At least one crash landed mid-way: some but not all triggers were out when it died.
        #expect(partial.contains { $0 > 0 && $0 < want.count }, "triggers after each crash: \(partial) of \(want.count)")
        expectSameLines(try Self.topic(bootstrap, "campaign-conversions"), wantConversions, "conversions")
        let dead = try Self.topic(bootstrap, "rekindle-dead-letters")
        #expect(dead.count == wantDead)
        #expect(Set(dead).count == dead.count)
    }
}

/// Compares two sorted multisets of lines, reporting counts and a few examples (not the lot).
func expectSameLines(_ got: [String], _ want: [String], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let problem = Simulation.difference(got, want, what)
    #expect(problem == nil, "\(problem ?? "")", sourceLocation: sourceLocation)
}

@Suite(.serialized) struct TwoInstanceTests {
    /// Two `rekindle run` processes share the partitions; one is SIGKILLed, and the other takes over
    /// its tasks from the snapshots on the Kafka topic and the output topics' recovery read.
    @Test func whenOneOfTwoInstancesDiesItsTasksMoveAndEveryOutputIsThereOnce() throws {
        let (broker, bootstrap) = try KcatTests.startBroker(partitions: 4)
        defer { broker.terminate(); broker.waitUntilExit() }
        let dir = try CLI.temporaryDirectory()
        let events = dir.appendingPathComponent("events.jsonl").path
        #expect(try CLI.rekindle(["generate", "--customers", "4000", "--days", "90", "--seed", "43", "--bad-fraction", "0.01",
                                  "--output", events]).status == 0)
        #expect(try CLI.rekindle(["produce", "--bootstrap", bootstrap, "--input", events]).status == 0)
        let common = ["run", "--bootstrap", bootstrap, "--group-id", "two", "--http", "off", "--snapshots-in-kafka",
                      "--snapshot-interval", "0.2"]
        let logA = dir.appendingPathComponent("a.log"), logB = dir.appendingPathComponent("b.log")
        let a = try KillTests.start(common, log: logA)
        // B outlasts A's session timeout (6 s) while idle, so it is still there to take A's tasks.
        let b = try KillTests.start(common + ["--stop-when-idle", "9"], log: logB)
        func logged(_ url: URL) -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && !(logged(logA).contains("assigned") && logged(logB).contains("assigned")) { usleep(20_000) }
        #expect(logged(logB).contains("assigned"), "B never got partitions")
        var rng = SplitMix64(seed: 43)
        usleep(useconds_t(200_000 + rng.next() % 800_000))  // a random crash point
        kill(a.processIdentifier, SIGKILL)
        a.waitUntilExit()
        b.waitUntilExit()
        #expect(b.terminationStatus == 0, "\(logged(logB).suffix(1500))")
        // B ended holding all four tasks.
        let lastAssignment = logged(logB).split(separator: "\n").last { $0.contains("assigned") } ?? ""
        #expect(lastAssignment.contains("orders[0]") && lastAssignment.contains("orders[3]"), "\(lastAssignment)")

        let replayed = dir.appendingPathComponent("replay.jsonl").path
        #expect(try CLI.rekindle(["replay", "--input", events, "--output", replayed, "--partitions", "4", "--quiet"]).status == 0)
        let want = try String(contentsOfFile: replayed, encoding: .utf8).split(separator: "\n").map(String.init).sorted()
        expectSameLines(try KillTests.topic(bootstrap, "campaign-triggers"), want, "triggers")
        let wantConversions = try String(contentsOfFile: dir.appendingPathComponent("replay.conversions.jsonl").path, encoding: .utf8)
            .split(separator: "\n").map(String.init).sorted()
        expectSameLines(try KillTests.topic(bootstrap, "campaign-conversions"), wantConversions, "conversions")
    }
}

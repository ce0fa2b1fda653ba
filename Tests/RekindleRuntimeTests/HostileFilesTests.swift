import Foundation
import RekindleCore
@testable import RekindleRuntime
import Testing

/// What a hostile but realistic user gives `rekindle replay` and `generate`: outputs that are
/// inputs, devices and directories as inputs, huge lines, standard input, years past 9999. Each
/// ends with a clear error naming the flag or file, or goes to the dead letters; no file is lost.
@Suite(.serialized) struct HostileFilesTests {
    struct Dir {
        let path: String
        init() throws { path = try CLI.temporaryDirectory().path }
        subscript(_ name: String) -> String { "\(path)/\(name)" }
        func write(_ name: String, _ lines: [String]) throws -> String {
            try (lines.joined(separator: "\n") + "\n").write(toFile: self[name], atomically: false, encoding: .utf8)
            return self[name]
        }
        func text(_ name: String) throws -> String { try String(contentsOfFile: self[name], encoding: .utf8) }
        var entries: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
    }

    static let lines = ReplayFixture.generated(customers: 60, days: 30, seed: 5, bad: 0.02)

    /// Runs replay and checks it was refused with exit 2, a message naming `flag`, and the
    /// directory exactly as it was (no file changed, none added).
    func expectRefused(_ dir: Dir, _ args: [String], flag: String, saying words: String,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = dir.entries.map { ($0, try? dir.text($0)) }
        let r = try CLI.rekindle(["replay"] + args + ["--quiet"])
        #expect(r.status == 2, "\(args): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.hasPrefix("rekindle: \(flag): ") && r.stderr.contains(words), "\(r.stderr)", sourceLocation: sourceLocation)
        let after = dir.entries.map { ($0, try? dir.text($0)) }
        #expect(before.map(\.0) == after.map(\.0) && before.map(\.1) == after.map(\.1), sourceLocation: sourceLocation)
    }

    @Test func anOutputThatIsAnInputIsRefusedBeforeAnythingIsWritten() throws {
        let dir = try Dir()
        let input = try dir.write("same.jsonl", Self.lines)
        try FileManager.default.createSymbolicLink(atPath: dir["link.jsonl"], withDestinationPath: input)
        try expectRefused(dir, ["--input", input, "--output", input], flag: "--output", saying: "is also an input (--input \(input))")
        try expectRefused(dir, ["--input", input, "--output", dir["t.jsonl"], "--dead-letters", input], flag: "--dead-letters", saying: "is also an input")
        try expectRefused(dir, ["--input", input, "--output", dir["t.jsonl"], "--conversions", dir["link.jsonl"]], flag: "--conversions", saying: "is also an input")
        try expectRefused(dir, ["--input", dir["link.jsonl"], "--output", dir["t.jsonl"], "--report", input], flag: "--report", saying: "is also an input")
        // Through a different spelling of the same path, and with several tasks (the sorting path).
        try expectRefused(dir, ["--input", input, "--output", "\(dir.path)/./same.jsonl", "--partitions", "3"], flag: "--output", saying: "is also an input")
        #expect(try dir.text("same.jsonl") == Self.lines.joined(separator: "\n") + "\n")
    }

    @Test func aDefaultSideFileThatIsAnInputIsRefusedAndNamedAsTheDefault() throws {
        let dir = try Dir()
        let input = try dir.write("o.dead-letters.jsonl", Self.lines)
        try expectRefused(dir, ["--input", input, "--output", dir["o.jsonl"]], flag: "--dead-letters",
                          saying: "\(input) (the default, beside --output) is also an input")
        let conv = try dir.write("o.conversions.jsonl", Self.lines)
        try expectRefused(dir, ["--input", conv, "--output", dir["o.jsonl"], "--dead-letters", dir["d.jsonl"]],
                          flag: "--conversions", saying: "(the default, beside --output) is also an input")
    }

    @Test func theRuleFileCountsAsAnInput() throws {
        let dir = try Dir()
        let input = try dir.write("events.jsonl", Self.lines)
        let rules = try dir.write("rules.yaml", ["version: mine"])
        try expectRefused(dir, ["--input", input, "--rules", rules, "--output", dir["t.jsonl"], "--report", rules],
                          flag: "--report", saying: "is also an input (--rules \(rules))")
    }

    @Test func twoOutputsNamingOneFileAreRefused() throws {
        let dir = try Dir()
        let input = try dir.write("events.jsonl", Self.lines)
        try expectRefused(dir, ["--input", input, "--output", dir["t.jsonl"], "--conversions", dir["x.jsonl"], "--dead-letters", dir["x.jsonl"]],
                          flag: "--dead-letters", saying: "is also where --conversions goes")
        try expectRefused(dir, ["--input", input, "--output", dir["t.jsonl"], "--report", dir["t.jsonl"]],
                          flag: "--report", saying: "is also where --output goes")
    }

    @Test func directoriesAndDevicesAreRefusedAsInputsNamingThePath() throws {
        let dir = try Dir()
        let input = try dir.write("events.jsonl", Self.lines)
        try expectRefused(dir, ["--input", "/dev/zero", "--output", dir["t.jsonl"]], flag: "--input",
                          saying: "/dev/zero is a character device, not a file or a pipe")
        try expectRefused(dir, ["--input", input, dir.path, "--output", dir["t.jsonl"]], flag: "--input",
                          saying: "\(dir.path) is a directory, not a file or a pipe")
        try expectRefused(dir, ["--input", input, "--rules", "/dev/zero", "--output", dir["t.jsonl"]], flag: "--rules",
                          saying: "/dev/zero is a character device")
        try expectRefused(dir, ["--input", input, "--rules", dir.path, "--output", dir["t.jsonl"]], flag: "--rules", saying: "is a directory")
        try expectRefused(dir, ["--input", input, "--output", dir.path], flag: "--output", saying: "is a directory")
        try expectRefused(dir, ["--input", "/nonexistent/events.jsonl", "--output", dir["t.jsonl"]], flag: "--input",
                          saying: "/nonexistent/events.jsonl cannot be read: No such file or directory")
        // The other commands that read files: before connecting to anything or reading a byte.
        for args in [["produce", "--bootstrap", "127.0.0.1:1", "--input", "/dev/zero"], ["bench", "replay", "--input", dir.path],
                     ["bench", "state", "--input", "/dev/zero"], ["bench", "live", "--input", dir.path]] {
            let r = try CLI.rekindle(args)
            #expect(r.status == 2 && r.stderr.contains("rekindle: --input: \(args.last!) is a"), "\(args): \(r.stderr)")
        }
        for bad in ["/dev/zero", dir.path] {
            let r = try CLI.rekindle(["rules", "check", bad])
            #expect(r.status == 2 && r.stderr.contains("rekindle: rules check: \(bad) is a"), "\(r.stderr)")
            #expect(!r.stderr.contains("NSCocoaErrorDomain") && !r.stderr.contains("permission"))
        }
    }

    @Test func aFailedRunLeavesExistingOutputsUntouchedAndNoTemporaries() throws {
        let dir = try Dir()
        let input = try dir.write("events.jsonl", Self.lines)
        let old = try dir.write("t.jsonl", ["old triggers"])
        // /proc/self/mem is a regular file whose first read fails (EIO): a read error mid-run,
        // after the first input streamed into the outputs' temporaries.
        for partitions in ["1", "2"] {
            let r = try CLI.rekindle(["replay", "--input", input, "/proc/self/mem", "--output", old, "--partitions", partitions, "--quiet"])
            #expect(r.status == 1, "\(r.stderr)")
            #expect(r.stderr.contains("cannot read /proc/self/mem"), "\(r.stderr)")
            #expect(try dir.text("t.jsonl") == "old triggers\n")
            #expect(dir.entries == ["events.jsonl", "t.jsonl"])
        }
    }

    @Test func aSuccessfulRunReplacesItsOutputsAndLeavesNoTemporaries() throws {
        let dir = try Dir()
        let input = try dir.write("events.jsonl", Self.lines)
        _ = try dir.write("t.jsonl", ["old triggers"])
        let r = try CLI.rekindle(["replay", "--input", input, "--output", dir["t.jsonl"], "--report", dir["r.json"], "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(dir.entries == ["events.jsonl", "r.json", "t.conversions.jsonl", "t.dead-letters.jsonl", "t.jsonl"])
        #expect(try !dir.text("t.jsonl").contains("old triggers") && dir.text("t.jsonl").contains("trigger_id"))
    }

    @Test func aLineOverTheLimitGoesToTheDeadLettersWithWhereAndTheRunGoesOn() throws {
        let dir = try Dir()
        var lines = Self.lines
        lines.insert("{\"type\":\"" + String(repeating: "x", count: 3 << 20) + "\"}", at: 5)
        let input = try dir.write("huge.jsonl", lines)
        let r = try CLI.rekindle(["replay", "--input", input, "--output", dir["t.jsonl"], "--report", dir["r.json"], "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let dead = try dir.text("t.dead-letters.jsonl").split(separator: "\n").map { try JSONParser.parse(String($0)) }
        let huge = try #require(dead.first { $0["original_size"] != nil })
        #expect(huge["reason"] == .string("huge.jsonl line 6: message is \((3 << 20) + 11) bytes, over the 1 MiB limit"))
        #expect(huge["source"]?["line"] == .number(6))
        #expect(huge["original_truncated"] == .bool(true))
        // The rest of the file was replayed: the same triggers as without the huge line.
        let clean = try dir.write("clean.jsonl", Self.lines)
        #expect(try CLI.rekindle(["replay", "--input", clean, "--output", dir["c.jsonl"], "--quiet"]).status == 0)
        #expect(try dir.text("t.jsonl") == dir.text("c.jsonl"))
        // Someone else's validator agrees the dead letters fit their schema.
        let v = try CLI.python(["Tests/schema/validate.py", "--schemas", "schemas", "--kind", "dead_letter", dir["t.dead-letters.jsonl"]])
        #expect(v.status == 0 && v.stdout.contains(" 0 failed"), "\(v.stdout.suffix(1000)) \(v.stderr)")
    }

    /// `cat FILE | rekindle replay --input - ...` through a real pipe.
    func replayFromPipe(_ file: String, _ args: [String]) throws -> CLI.Result {
        try CLI.run(URL(fileURLWithPath: "/bin/sh"), ["-c", "cat '\(file)' | '\(CLI.binary.path)' replay --input - " + args.map { "'\($0)'" }.joined(separator: " ")])
    }

    @Test func standardInputReplaysLikeTheFileWhetherItStreamsOrMustBeSorted() throws {
        let dir = try Dir()
        // Sorted enough to stream, and reversed (the stream stops and the copy of stdin is sorted).
        for (name, lines) in [("sorted", Self.lines), ("reversed", Self.lines.reversed())] {
            let file = try dir.write("\(name).jsonl", Array(lines))
            let viaFile = try CLI.rekindle(["replay", "--input", file, "--output", dir["\(name)-file.jsonl"], "--report", dir["\(name)-file.json"], "--quiet"])
            #expect(viaFile.status == 0, "\(viaFile.stderr)")
            let viaPipe = try replayFromPipe(file, ["--output", dir["\(name)-pipe.jsonl"], "--report", dir["\(name)-pipe.json"], "--quiet"])
            #expect(viaPipe.status == 0, "\(viaPipe.stderr)")
            for suffix in [".jsonl", ".conversions.jsonl", ".json"] {
                #expect(try dir.text("\(name)-pipe\(suffix)") == dir.text("\(name)-file\(suffix)"), "\(name)\(suffix)")
            }
            // Dead letters name the input "stdin", with the same lines and reasons.
            let fromFile = try dir.text("\(name)-file.dead-letters.jsonl"), fromPipe = try dir.text("\(name)-pipe.dead-letters.jsonl")
            #expect(!fromPipe.isEmpty)
            #expect(fromPipe == fromFile.replacingOccurrences(of: "\"\(name).jsonl\"", with: "\"stdin\"")
                .replacingOccurrences(of: "\"reason\":\"\(name).jsonl line", with: "\"reason\":\"stdin line"))
        }
        // A named FIFO (or `<(zcat ...)`) cannot be opened again from its start either.
        #expect(mkfifo(dir["fifo"], 0o600) == 0)
        let viaFIFO = try CLI.run(URL(fileURLWithPath: "/bin/sh"), ["-c", "cat '\(dir["reversed.jsonl"])' > '\(dir["fifo"])' & '\(CLI.binary.path)' replay --input '\(dir["fifo"])' --output '\(dir["fifo-out.jsonl"])' --quiet"])
        #expect(viaFIFO.status == 0, "\(viaFIFO.stderr)")
        #expect(try dir.text("fifo-out.jsonl") == dir.text("reversed-file.jsonl"))
        #expect(!dir.entries.contains { $0.hasPrefix(".") }, "no copy of stdin or temporary is left")
        // Standard input can be read once.
        let twice = try replayFromPipe(dir["sorted.jsonl"], ["-", "--output", dir["twice.jsonl"]])
        #expect(twice.status == 2 && twice.stderr.contains("--input: - is given more than once: a pipe can be read only once"), "\(twice.stderr)")
    }

    @Test func generateRefusesAStartWhoseDaysRunPastTheYear9999() throws {
        let dir = try Dir()
        let far = try CLI.rekindle(["generate", "--start", "9999-06-01T00:00:00Z", "--days", "365", "--customers", "5", "--output", dir["g.jsonl"]])
        #expect(far.status == 2 && far.stderr.contains("--start: 9999-06-01T00:00:00Z plus --days 365 runs past the year 9999"), "\(far.stderr)")
        #expect(dir.entries.isEmpty)
        // The tie: the last millisecond written at +03:00 is 9999-12-31T23:59:59.999; one more is refused.
        let last = try CLI.rekindle(["generate", "--start", "9999-12-30T21:00:00Z", "--days", "1", "--customers", "20", "--output", dir["g.jsonl"]])
        #expect(last.status == 0, "\(last.stderr)")
        let text = try dir.text("g.jsonl")
        #expect(text.contains("\"9999-12-3") && !text.contains("\"0000-") && !text.contains("\"10000-"))
        let over = try CLI.rekindle(["generate", "--start", "9999-12-30T21:00:00.001Z", "--days", "1", "--output", dir["h.jsonl"]])
        #expect(over.status == 2 && over.stderr.contains("--start"), "\(over.stderr)")
        let overflow = try CLI.rekindle(["generate", "--days", "\(Int.max)", "--output", dir["h.jsonl"]])
        #expect(overflow.status == 2 && overflow.stderr.contains("--days \(Int.max) runs past"), "\(overflow.stderr)")
        #expect(dir.entries == ["g.jsonl"])
    }
}

import ArgumentParser
import Foundation
import RekindleCore
import RekindleRuntime

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Fold event history from JSON-lines files and write the triggers it would have fired.")

    @Option(name: .long, parsing: .upToNextOption, help: "Event files (JSON lines, any mix of kinds, any order).")
    var input: [String]

    @Option(name: .long, help: "Where the triggers go, one JSON object per line ('-' for stdout).")
    var output: String

    @Option(name: .long, help: "Where conversions go (default: beside --output, *.conversions.jsonl).")
    var conversions: String?

    @Option(name: .long, help: "Where bad input lines go (default: beside --output, *.dead-letters.jsonl).")
    var deadLetters: String?

    @Option(name: .long, help: "A rule file (YAML or JSON) laid over the defaults.")
    var rules: String?

    @Option(name: .long, help: "Advance event time to this instant at the end (default: the last event's time).")
    var until: String?

    @Option(name: .long, help: "Split customers into this many tasks, as a live run on P partitions would.")
    var partitions: Int = 1

    @Option(name: .long, help: "How the topics were filled: murmur2 (Java, Rekindle) or crc32 (librdkafka default).")
    var partitioner: String = "murmur2"

    @Option(name: .long, help: "Write the back-test report as JSON here.")
    var report: String?

    @Flag(name: .long, help: "Do not print the report table.")
    var quiet = false

    func validate() throws {
        guard partitions >= 1 && partitions <= 10_000 else { throw ValidationError("--partitions: expected 1 to 10000") }
        guard Partitioner(rawValue: partitioner) != nil else {
            throw ValidationError("--partitioner: expected murmur2 or crc32, got \"\(partitioner)\"")
        }
        guard !input.isEmpty else { throw ValidationError("--input: give at least one file") }
    }

    func sibling(_ suffix: String) -> String {
        if output == "-" { return "replay.\(suffix)" }
        let url = URL(fileURLWithPath: output)
        var stem = url.lastPathComponent
        if let dot = stem.lastIndex(of: "."), dot != stem.startIndex { stem = String(stem[..<dot]) }
        return url.deletingLastPathComponent().appendingPathComponent("\(stem).\(suffix)").path
    }

    func run() throws {
        let ruleSet = try RuleFile.load(path: rules)
        var replay = Replay(rules: ruleSet)
        replay.partitions = partitions
        replay.partitioner = Partitioner(rawValue: partitioner)!
        if let until { replay.until = try parseTime(until, flag: "--until") }
        for path in input where !FileManager.default.isReadableFile(atPath: path) {
            throw UsageError(message: "--input: cannot read \(path)")
        }
        let progress = Progress()
        let conversionsPath = conversions ?? sibling("conversions.jsonl")
        let deadLettersPath = deadLetters ?? sibling("dead-letters.jsonl")
        var summary: BacktestReport?
        // One task and files to write: the streaming pipeline, unless the input turns out to
        // need sorting (then the files are rewritten by the sorting path below).
        if partitions == 1 && ![output, conversionsPath, deadLettersPath].contains("-") {
            var streaming = StreamingReplay(rules: ruleSet)
            streaming.until = replay.until
            let sinks = StreamingReplay.Sinks(
                triggers: try LineWriter(path: output), conversions: try LineWriter(path: conversionsPath),
                deadLetters: try LineWriter(path: deadLettersPath))
            let outcome = try streaming.run(paths: input, into: sinks, progress: progress)
            try sinks.triggers.close()
            try sinks.conversions.close()
            try sinks.deadLetters.close()
            if case .done(let r) = outcome { summary = r }
        }
        if summary == nil {
            var reader = EventFileReader(progress: progress)
            for path in input { try reader.read(path: path) }
            let result = replay.run(events: reader.events, deadLetters: reader.deadLetters, progress: progress)
            let out = try LineWriter(path: output)
            for t in result.triggers { out.write { t.appendJSON(to: &$0) } }
            try out.close()
            let conv = try LineWriter(path: conversionsPath)
            for c in result.conversions { conv.write { c.appendJSON(to: &$0) } }
            try conv.close()
            let dead = try LineWriter(path: deadLettersPath)
            for d in result.deadLetters { dead.write(line: d.json) }
            try dead.close()
            summary = result.report
        }
        if let path = report {
            let w = try LineWriter(path: path)
            w.write(line: summary!.json)
            try w.close()
        }
        if !quiet {
            let text = summary!.table
            if output == "-" {
                FileHandle.standardError.write(Data(text.utf8))
            } else {
                print(text, terminator: "")
            }
        }
    }
}

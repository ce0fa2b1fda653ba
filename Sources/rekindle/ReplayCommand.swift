import ArgumentParser
import Foundation
import RekindleCore
import RekindleRuntime

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Fold event history from JSON-lines files and write the triggers it would have fired.")

    @Option(name: .long, parsing: .upToNextOption, help: "Event files (JSON lines, any mix of kinds, any order); '-' reads standard input.")
    var input: [String]

    @Option(name: .long, help: "Where the triggers go, one JSON object per line ('-' for stdout); files appear only when the run succeeds.")
    var output: String

    @Option(name: .long, help: "Where conversions go (default: beside --output, *.conversions.jsonl).")
    var conversions: String?

    @Option(name: .long, help: "Where bad input lines go (default: beside --output, *.dead-letters.jsonl).")
    var deadLetters: String?

    @Option(name: .long, help: "Where withheld touches go (spec 7.1; default: beside --output, *.withheld.jsonl, written when the rules have experiments).")
    var withheld: String?

    @Option(name: .long, help: "A rule file (YAML or JSON) laid over the defaults.")
    var rules: String?

    @Option(name: .long, help: "Advance event time to this instant at the end (default: the last event's time).")
    var until: String?

    @Option(name: .long, help: "An event whose occurred_at is further ahead of --now is a bad input (default 86400000: one day).")
    var maxFutureSkewMs: String?

    @Option(name: .long, help: "The instant the future-skew check measures from (default: when the replay starts).")
    var now: String?

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

    func run() throws {
        var job = ReplayJob(inputs: input, output: output)
        job.rulesPath = rules
        job.conversions = conversions
        job.deadLetters = deadLetters
        job.withheld = withheld
        job.report = report
        job.partitions = partitions
        job.partitioner = Partitioner(rawValue: partitioner)!
        if let until { job.until = try parseTime(until, flag: "--until") }
        if let v = maxFutureSkewMs {
            job.checks.maxFutureSkewMs = Int64(try RunConfiguration.checked("max_future_skew_ms", text: v, from: "--max-future-skew-ms"))
        }
        if let now { job.checks.reference = try parseTime(now, flag: "--now") }
        job.progress = Progress()
        let summary = try job.run()
        if !quiet {
            let text = summary.table
            if output == "-" {
                FileHandle.standardError.write(Data(text.utf8))
            } else {
                print(text, terminator: "")
            }
        }
    }
}

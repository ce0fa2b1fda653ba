import ArgumentParser
import Foundation
import RekindleCore
import RekindleRuntime

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Fold event history from JSON-lines files and write the triggers it would have fired.")

    @OptionGroup var history: HistoryOptions

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

    @Option(name: .long, help: "Write the back-test report as JSON here.")
    var report: String?

    @Flag(name: .long, help: "Do not print the report table.")
    var quiet = false

    func run() throws {
        var job = ReplayJob(inputs: history.input, output: output)
        job.rulesPath = rules
        job.conversions = conversions
        job.deadLetters = deadLetters
        job.withheld = withheld
        job.report = report
        job.partitions = history.partitions
        job.partitioner = history.chosenPartitioner
        if let until { job.until = try parseTime(until, flag: "--until") }
        job.checks = try history.checks()
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

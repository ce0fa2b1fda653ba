import ArgumentParser
import Foundation
import RekindleCore
import RekindleRuntime

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Fold event history from JSON-lines files or the input topics and write the triggers it would have fired.",
        discussion: "From files: --input FILE... (with --partitions P, as a live run on P partitions would). From topics: --bootstrap HOST:PORT without --input reads partition k of the three input topics as task k, from their beginning (or --from) to their end offsets when the replay starts, outside any consumer group and committing nothing; its output equals `replay --partitions P` of the same events. Outputs go to files (--output), or with --triggers-topic to topics named one by one.")

    @OptionGroup var history: HistoryOptions

    @OptionGroup var source: TopicSourceOptions

    @OptionGroup var topics: OutputTopicOptions

    @Option(name: .long, help: "Where the triggers go, one JSON object per line ('-' for stdout); files appear only when the run succeeds.")
    var output: String?

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

    func validate() throws {
        try source.check(history)
        if topics.named && source.bootstrap == nil { throw ValidationError("--triggers-topic: writes to a broker, so --bootstrap is needed") }
        if output == nil && !topics.named { throw ValidationError("--output: name a file (or '-'), or write to topics with --triggers-topic") }
        if output != nil && topics.named { throw ValidationError("--output: the outputs go to --triggers-topic and its companions; give one or the other") }
        for (flag, value) in [("--conversions", conversions), ("--dead-letters", deadLetters), ("--withheld", withheld)]
        where value != nil && topics.named {
            throw ValidationError("\(flag): the outputs go to topics (--triggers-topic); name an output topic instead")
        }
    }

    func run() throws {
        let settings = try source.settings()
        var job = ReplayJob(inputs: history.input, output: output ?? "-")
        job.topicSource = try source.source(history, settings)
        job.outputTopics = try topics.outputs(bootstrap: source.bootstrap, settings)
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
        let summary = try asUsage { try job.run() }
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

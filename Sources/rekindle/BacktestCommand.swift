import ArgumentParser
import Foundation
import RekindleCore
import RekindleRuntime

struct BacktestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Back-test a rule set (and a candidate beside it) over event history: a report a marketer can act on, as HTML and JSON.",
        discussion: "The history is --input files, or with --bootstrap (and no --input) the input topics, as `replay --bootstrap` reads them: partition k of each is task k, and the report equals that of the same events from a file with --partitions P and the partitioner that filled the topics.")

    @OptionGroup var history: HistoryOptions

    @OptionGroup var source: TopicSourceOptions

    @Option(name: .long, help: "The current rule file (YAML or JSON) laid over the defaults (default: the defaults).")
    var rules: String?

    @Option(name: .long, help: "A candidate rule file folded over the same history beside the current one.")
    var compare: String?

    @Option(name: .long, help: "Where a report goes: FILE.html (one self-contained page) or FILE.json; repeat for both.")
    var report: [String] = []

    @Option(name: .long, help: "The churn model's calibration boundary (RFC 3339): its predictions from here are checked against the purchases after it; with no model in the rule sets one is fitted on the purchases up to it. The rules fold over the whole history either way.")
    var until: String?

    @Flag(name: .long, help: "Do not print the summary table.")
    var quiet = false

    func validate() throws {
        try source.check(history)
        if source.bootstrap != nil && !history.input.isEmpty {
            throw ValidationError("--bootstrap: the history is the topics or the --input files; give one or the other")
        }
        guard !report.isEmpty else { throw ValidationError("--report: give FILE.html or FILE.json (or both, repeating --report)") }
        for path in report where path == "-" {
            throw ValidationError("--report: expected a file (a report is written whole, then renamed), got \"-\"")
        }
    }

    func run() throws {
        var job = BacktestJob(inputs: history.input, reports: report)
        job.topicSource = try source.source(history, try source.settings())
        job.rulesPath = rules
        job.comparePath = compare
        job.partitions = history.partitions
        job.partitioner = history.chosenPartitioner
        if let until { job.until = try parseTime(until, flag: "--until") }
        job.checks = try history.checks()
        job.progress = Progress()
        let analysis = try asUsage { try job.run() }
        if !quiet { print(analysis.table, terminator: "") }
    }
}

import ArgumentParser
import Foundation
import RekindleCore
import RekindleRuntime

struct ChurnCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "churn", abstract: "Churn odds (spec 3.9): the BG/NBD model fitted on history.",
        subcommands: [ChurnFitCommand.self])
}

struct ChurnFitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Fit the BG/NBD model (r, alpha, a, b) on the customers' purchases up to --until and write it as a rule-file overlay.")

    @Option(name: .long, parsing: .upToNextOption, help: "Event files (JSON lines, any mix of kinds, any order), read as `rekindle replay` reads them; '-' reads standard input.")
    var input: [String]

    @Option(name: .long, help: "The summaries' T_now (RFC 3339): events after it are not folded.")
    var until: String

    @Option(name: .long, help: "Where the rule-file overlay (YAML) goes.")
    var output: String

    @Option(name: .long, help: "Where each customer's odds go, one JSON object per line.")
    var scores: String?

    @Option(name: .long, help: "The scores' horizon in days.")
    var horizonDays: Double = 90

    @Option(name: .long, help: "Where bad input lines go (default: beside --output, *.dead-letters.jsonl).")
    var deadLetters: String?

    func validate() throws {
        guard !input.isEmpty else { throw ValidationError("--input: give at least one file") }
        guard horizonDays > 0 && horizonDays <= 36_500 else {
            throw ValidationError("--horizon-days: expected a number of days above 0 and at most 36500")
        }
        guard output != "-" else { throw ValidationError("--output: expected a file (the overlay is written whole, then renamed)") }
    }

    func run() throws {
        var job = ChurnFitJob(inputs: input, until: try parseTime(until, flag: "--until"), output: output)
        job.scores = scores
        job.deadLetters = deadLetters
        job.horizonDays = horizonDays
        job.progress = Progress()
        let result: ChurnFitJob.Result
        do {
            result = try job.run()
        } catch let error as ChurnFitError {
            throw UsageError(message: "churn fit: \(error)")
        }
        print(Self.table(result, until: job.until), terminator: "")
    }

    static func table(_ result: ChurnFitJob.Result, until: Millis) -> String {
        let fit = result.fit
        func row(_ name: String, _ v: Double, _ se: Double) -> String {
            name.padding(toLength: 7, withPad: " ", startingAt: 0) + String(format: "%12.6f  %12.6f\n", v, se)
        }
        var s = "churn fit: \(fit.customers) customers with a purchase up to \(Timestamp.format(until)), "
        s += "\(result.repeatCustomers) with repeat purchases, \(fit.distinctSummaries) distinct summaries\n"
        s += "param      estimate    std. error\n"
        s += row("r", fit.model.r, fit.standardErrors.r)
        s += row("alpha", fit.model.alpha, fit.standardErrors.alpha)
        s += row("a", fit.model.a, fit.standardErrors.a)
        s += row("b", fit.model.b, fit.standardErrors.b)
        s += String(format: "log-likelihood: %.4f\n", fit.logLikelihood)
        if result.deadLetters > 0 { s += "\(result.deadLetters) bad input lines (dead letters)\n" }
        return s
    }
}

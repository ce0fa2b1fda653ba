import ArgumentParser
import Foundation
import RekindleCore
import RekindleRuntime
import RekindleTooling

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a realistic synthetic event stream (JSON lines, in occurred_at order), seeded.")

    @Option(name: .long, help: "Number of customers.")
    var customers: Int = 2000

    @Option(name: .long, help: "Days of history.")
    var days: Int = 120

    @Option(name: .long, help: "First instant (RFC 3339).")
    var start: String = "2026-01-01T00:00:00Z"

    @Option(name: .long, help: "Random seed: the same seed gives the same bytes.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Catalogue size.")
    var products: Int = 500

    @Option(name: .long, help: "Fraction of bad lines to mix in (0 to 1).")
    var badFraction: Double = 0

    @Option(name: .long, help: "Product popularity: 'category' (each category's first products more often) or 'zipf' (Zipf's law, with best-sellers that everyone views).")
    var popularity: String = "category"

    @Option(name: .long, help: "Exponent s of --popularity zipf: rank r is picked with weight 1 / r^s.")
    var zipfExponent: Double = 1

    @Option(name: .long, help: "Share of browsing sessions after which the browser comes back within the week to buy in the category it browsed (0 to 1).")
    var returningBrowsers: Double = 0

    @Option(name: .long, help: "Output file ('-' for stdout).")
    var output: String = "-"

    @Option(name: .long, help: "Plant a known effect of sent touches (spec 7.2's evidence): RULE=POINTS raises the probability that a customer whose first touch of RULE is sent buys within its window by POINTS percentage points; withheld touches change nothing. Repeatable; needs --rules with an experiments section.")
    var uplift: [String] = []

    @Option(name: .long, help: "The rule file whose touches --uplift plants purchases after.")
    var rules: String?

    func validate() throws {
        guard customers >= 1 else { throw ValidationError("--customers: expected at least 1") }
        guard days >= 1 else { throw ValidationError("--days: expected at least 1") }
        guard products >= 10 else { throw ValidationError("--products: expected at least 10") }
        guard badFraction >= 0 && badFraction <= 1 else { throw ValidationError("--bad-fraction: expected 0 to 1") }
        guard ["category", "zipf"].contains(popularity) else { throw ValidationError("--popularity: expected category or zipf") }
        guard zipfExponent >= 0 && zipfExponent <= 10 else { throw ValidationError("--zipf-exponent: expected 0 to 10") }
        guard returningBrowsers >= 0 && returningBrowsers <= 1 else { throw ValidationError("--returning-browsers: expected 0 to 1") }
        _ = try plantedUplift()
        if !uplift.isEmpty && rules == nil { throw ValidationError("--uplift: needs --rules (a rule file with an experiments section)") }
    }

    /// `--uplift RULE=POINTS` as rule id to probability.
    func plantedUplift() throws -> [String: Double] {
        var planted: [String: Double] = [:]
        for item in uplift {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, let points = Double(parts[1]), points >= 0, points <= 100 else {
                throw ValidationError("--uplift: expected RULE=POINTS with POINTS from 0 to 100, got \(item)")
            }
            planted[parts[0]] = points / 100
        }
        return planted
    }

    func run() throws {
        var options = GeneratorOptions()
        options.customers = customers
        options.days = days
        options.start = try parseTime(start, flag: "--start")
        options.seed = seed
        options.products = products
        options.badFraction = badFraction
        if popularity == "zipf" { options.popularity = .zipf(exponent: zipfExponent) }
        options.returningBrowserShare = returningBrowsers
        guard options.endsBeforeYear10000 else {
            throw UsageError(message: "--start: \(start) plus --days \(days) runs past the year 9999, which an RFC 3339 time cannot hold; start earlier or give fewer days")
        }
        let out = try OutputFile(path: output)
        let planted = try plantedUplift()
        if planted.isEmpty {
            SyntheticStream.generate(options) { out.writer.write(line: $0) }
        } else {
            let ruleSet = try RuleFile.load(path: rules)
            guard ruleSet.experiments != nil else {
                throw UsageError(message: "--rules: \(rules ?? "") has no experiments section: with no touch withheld there is no control group to plant an effect against")
            }
            for rule in planted.keys where !ruleSet.rules.contains(where: { $0.id == rule }) {
                throw UsageError(message: "--uplift: no enabled rule \(rule) in \(rules ?? "the rules")")
            }
            var lines: [String] = []
            SyntheticStream.generate(options) { lines.append($0) }
            let result = PlantedUplift(rules: ruleSet, uplift: planted, seed: seed).plant(lines)
            for line in result.lines { out.writer.write(line: line) }
            for (rule, p) in result.planted.sorted(by: { $0.key < $1.key }) {
                FileHandle.standardError.write(Data("uplift \(rule): \(p.treated) customers' first touch sent, \(p.boughtAnyway) bought in its window anyway, \(p.added) purchases planted\n".utf8))
            }
        }
        try out.publish()
    }
}

import ArgumentParser
import Foundation
import RekindleCore
import RekindleRuntime
import RekindleTooling

/// Spec 3.6's bound on neighbours per product, measured: the recommendation hit rate and the fold
/// speed with each bound, beside exact scoring (all neighbours) folded in the same run, on a
/// stream whose product popularity follows Zipf's law.
struct HitRateBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hitrate",
        abstract: "Recommendation hit rate and fold speed of exact scoring and of bounded neighbour lists (max_neighbours).")

    @Option(name: .long, help: "A JSON-lines event file; without it, a stream is generated with --popularity zipf.")
    var input: String?

    @Option(name: .long, help: "Generated customers (80,000 over 120 days: about a million events).")
    var customers = 80_000

    @Option(name: .long, help: "Generated days.")
    var days = 120

    @Option(name: .long, help: "Generated catalogue size.")
    var products = 10_000

    @Option(name: .long, help: "Generator seed.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Exponent of the generated Zipf popularity.")
    var zipfExponent: Double = 1

    @Option(name: .long, help: "Generated share of browsing sessions after which the browser comes back to buy within the week.")
    var returningBrowsers = 0.3

    @Option(name: .long, help: "Bounds to measure, comma-separated (0 is exact scoring, always measured).")
    var bounds = "10,20,50,100,200"

    @Option(name: .long, help: "Days after a trigger in which a purchase of a recommended product counts.")
    var windowDays = 7

    @Option(name: .long, help: "Folds per bound; the fastest is reported.")
    var repeats = 1

    func validate() throws {
        guard parsedBounds != nil else { throw ValidationError("--bounds: expected whole numbers from 0 to 1000000, comma-separated") }
        guard repeats >= 1 else { throw ValidationError("--repeats: expected at least 1") }
        guard windowDays >= 0 && windowDays <= 3_650 else { throw ValidationError("--window-days: expected 0 to 3650") }
    }

    var parsedBounds: [Int]? {
        var out = [0]
        for part in bounds.split(separator: ",") {
            guard let k = Int(part.trimmingCharacters(in: .whitespaces)), k >= 0, k <= 1_000_000 else { return nil }
            if !out.contains(k) { out.append(k) }
        }
        return out
    }

    func run() throws {
        let events = try load()
        print("\(events.count) events, \(input ?? "generated: --customers \(customers) --days \(days) --products \(products) --popularity zipf --zipf-exponent \(zipfExponent) --returning-browsers \(returningBrowsers) --seed \(seed)")")
        let bounds = parsedBounds ?? [0]
        let rules = try bounds.map { bound in
            try RuleSet(overlay: .object([
                JSONMember("version", .string("hitrate-bench")),
                JSONMember("families", .object([JSONMember("views", .object([JSONMember("max_neighbours", .number(Double(bound)))]))])),
            ]))
        }
        // Rounds over every bound in turn, the fastest fold of each kept: the machine's drift and
        // the heap the earlier folds left behind fall on every bound alike. Times are the thread's
        // CPU time, which other processes on a shared machine disturb less than the wall clock.
        var fastest = [Double](repeating: .infinity, count: bounds.count)
        var triggers = [[Trigger]](repeating: [], count: bounds.count)
        var walked = [Double](repeating: 0, count: bounds.count)
        for _ in 0..<repeats {
            for k in bounds.indices {
                _ = releaseFreedMemory(0)
                var out: [Output] = []
                var task = CampaignTask(rules: rules[k])
                let start = Self.threadCPUSeconds()
                for e in events { task.apply(e, into: &out) }
                if let last = events.last { task.advance(to: last.occurredAt, into: &out) }
                fastest[k] = min(fastest[k], Self.threadCPUSeconds() - start)
                guard triggers[k].isEmpty else { continue }
                triggers[k] = out.compactMap { if case .trigger(let t) = $0 { t } else { nil } }
                let work = task.recommendationWork
                walked[k] = Double(work.neighbours) / Double(max(1, work.scorings))
                if k == 0 { printNeighbourLists(task) }
            }
        }
        print("bound  view.abandoned  recommending   hits  hit rate  vs exact  among recommending  walked/scoring  fold cpu s  events/s  vs exact")
        let window = Millis(windowDays) * millisPerDay
        let exact = HitRate.measure(events: events, triggers: triggers[0], windowMs: window)
        for k in bounds.indices {
            let rate = k == 0 ? exact : HitRate.measure(events: events, triggers: triggers[k], windowMs: window)
            let relative = exact.rate == 0 ? 0 : (rate.rate - exact.rate) / exact.rate
            print(
                String(bounds[k] == 0 ? "exact" : "\(bounds[k])").leftPadded(5), String(rate.triggers).leftPadded(15),
                String(rate.recommending).leftPadded(13), String(rate.hits).leftPadded(6),
                String(format: "%8.3f%%", 100 * rate.rate), String(format: "%+8.2f%%", 100 * relative),
                String(format: "%18.3f%%", 100 * rate.rateAmongRecommending), String(format: "%15.0f", walked[k]),
                String(format: "%11.2f", fastest[k]), String(format: "%9.0f", Double(events.count) / fastest[k]),
                String(format: "%8.2fx", fastest[0] / fastest[k]))
        }
    }

    static func threadCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// How long the lists are that exact scoring walks: the longest, and the mean over the seeds a
    /// firing meets (a product weighted by its occurrences, as seeds are viewed products).
    func printNeighbourLists(_ task: CampaignTask) {
        let lists = task.neighbourLists
        var longest = 0, occurrences = 0, weighted = 0.0
        for list in lists {
            longest = max(longest, list.neighbours)
            occurrences += list.occurrences
            weighted += Double(list.neighbours) * Double(list.occurrences)
        }
        let mean = String(format: "%.0f", weighted / Double(max(1, occurrences)))
        print("\(lists.count) products; neighbours per product: longest \(longest), mean per occurrence \(mean)")
    }

    /// The events in the order a replay folds them: by occurred_at, ties in input order.
    func load() throws -> [Event] {
        var events: [Event] = []
        if let input {
            try InputFile.check(input, flag: "--input")
            var reader = EventFileReader()
            try reader.read(path: input)
            events = reader.events.map(\.event)
        } else {
            var options = GeneratorOptions()
            options.customers = customers
            options.days = days
            options.products = products
            options.seed = seed
            options.popularity = .zipf(exponent: zipfExponent)
            options.returningBrowserShare = returningBrowsers
            SyntheticStream.generate(options) { line in
                if case .success(let e) = EventDecoder.decode(line) { events.append(e) }
            }
        }
        return events.enumerated().sorted {
            ($0.element.occurredAt, $0.offset) < ($1.element.occurredAt, $1.offset)
        }.map(\.element)
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

import ArgumentParser
import Foundation
import RekindleCore
import RekindleRuntime
import RekindleTooling

/// The decoder's differential fuzzer (`ParserFuzz`) for as long as asked: the CI test runs a few
/// seconds of it, this runs minutes or hours of one seed's stream on demand.
struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Fuzz the event decoder: the fast scanner against the reference parser. Exits 1 on any disagreement.")

    @Option(name: .long, help: "How long to run, in seconds.")
    var seconds: Double = 10

    @Option(name: .long, help: "Random seed: the same seed gives the same lines.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Print at most this many disagreements (all are counted).")
    var maxPrinted: Int = 100

    func validate() throws {
        guard seconds > 0 else { throw ValidationError("--seconds: expected more than 0") }
        guard maxPrinted >= 0 else { throw ValidationError("--max-printed: expected 0 or more") }
    }

    func run() throws {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .seconds(seconds)
        var fuzz = ParserFuzz(seed: seed)
        var total = Counts(), sinceReport = Counts()
        var lastReport = start
        print("rekindle fuzz: seed \(seed), \(seconds) s")
        while clock.now < deadline {
            // Rounds of a few hundred lines between clock reads; one stream throughout, so that
            // "seed S line N" replays as ParserFuzz(seed: S) and N + 1 calls of nextLine().
            for _ in 0..<500 {
                let line = fuzz.nextLine()
                let verdict = ParserFuzz.verify(line, oracle: fuzz.lastOracle)
                if let failure = verdict.failure {
                    if total.disagreements < maxPrinted { print("DISAGREEMENT seed \(seed) line \(total.lines): \(failure)") }
                    total.disagreements += 1
                    sinceReport.disagreements += 1
                }
                total.add(verdict)
                sinceReport.add(verdict)
            }
            let now = clock.now
            if now - lastReport >= .seconds(1) {
                let elapsed = (now - lastReport).seconds
                print("\(Int((now - start).seconds.rounded())) s: \(sinceReport.rates(over: elapsed)) | total \(total.lines) lines, \(total.disagreements) disagreements")
                fflush(nil)  // progress, even when stdout is a pipe (nil: every stream; `stdout` is not concurrency-safe)
                sinceReport = Counts()
                lastReport = now
            }
        }
        let elapsed = (clock.now - start).seconds
        print("done in \(Counts.fixed(elapsed, 1)) s: \(total.lines) lines, accepted \(total.accepted), rejected \(total.lines - total.accepted), fast-accepted \(total.fastAccepted) (\(Counts.percent(total.fastAccepted, of: total.accepted)) of accepted)")
        print("per second: \(total.rates(over: elapsed))")
        if total.disagreements > 0 {
            print("\(total.disagreements) disagreements" + (total.disagreements > maxPrinted ? " (the first \(maxPrinted) printed)" : ""))
            throw ExitCode(1)
        }
        print("no disagreements")
    }

    struct Counts {
        var lines = 0, accepted = 0, fastAccepted = 0, disagreements = 0

        mutating func add(_ v: ParserFuzz.Verdict) {
            lines += 1
            if v.accepted { accepted += 1 }
            if v.fastAccepted { fastAccepted += 1 }
        }

        func rates(over seconds: Double) -> String {
            func rate(_ n: Int) -> Int { Int((Double(n) / seconds).rounded()) }
            return "\(rate(lines)) lines/s, accepted \(rate(accepted))/s, rejected \(rate(lines - accepted))/s, fast-accepted \(rate(fastAccepted))/s"
        }

        static func percent(_ part: Int, of whole: Int) -> String {
            whole == 0 ? "-" : fixed(100 * Double(part) / Double(whole), 1) + "%"
        }

        /// `value` with `places` decimals, without Foundation's locale-dependent formatting.
        static func fixed(_ value: Double, _ places: Int) -> String {
            var scale = 1.0
            for _ in 0..<places { scale *= 10 }
            let scaled = Int((value * scale).rounded())
            let whole = String(scaled / Int(scale))
            guard places > 0 else { return whole }
            let fraction = String(abs(scaled) % Int(scale))
            return whole + "." + String(repeating: "0", count: places - fraction.count) + fraction
        }
    }
}

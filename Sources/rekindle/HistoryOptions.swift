import ArgumentParser
import RekindleCore
import RekindleRuntime

/// The flags of a command that folds event history from files (`replay`, `backtest`): the files,
/// how the customers are split into tasks, and what an event must pass beyond its form.
struct HistoryOptions: ParsableArguments {
    @Option(name: .long, parsing: .upToNextOption, help: "Event files (JSON lines, any mix of kinds, any order); '-' reads standard input.")
    var input: [String] = []

    @Option(name: .long, help: "Split customers into this many tasks, as a live run on P partitions would.")
    var partitions: Int = 1

    @Option(name: .long, help: "How the topics were filled: murmur2 (Java, Rekindle) or crc32 (librdkafka default).")
    var partitioner: String = "murmur2"

    @Option(name: .long, help: "An event whose occurred_at is further ahead of --now is a bad input (default 86400000: one day).")
    var maxFutureSkewMs: String?

    @Option(name: .long, help: "The instant the future-skew check measures from (default: when the run starts).")
    var now: String?

    func validate() throws {
        guard partitions >= 1 && partitions <= 10_000 else { throw ValidationError("--partitions: expected 1 to 10000") }
        guard Partitioner(rawValue: partitioner) != nil else {
            throw ValidationError("--partitioner: expected murmur2 or crc32, got \"\(partitioner)\"")
        }
    }

    /// Refuses a run with no event file (`replay` may read topics instead; see `TopicOptions`).
    func requireInput() throws {
        guard !input.isEmpty else { throw ValidationError("--input: give at least one file") }
    }

    /// The partitioner named (checked by `validate`).
    var chosenPartitioner: Partitioner { Partitioner(rawValue: partitioner)! }

    /// The checks of `--max-future-skew-ms` and `--now` (the reference unset: the run's start).
    func checks() throws -> InputChecks {
        var checks = InputChecks()
        if let v = maxFutureSkewMs {
            checks.maxFutureSkewMs = Int64(try RunConfiguration.checked("max_future_skew_ms", text: v, from: "--max-future-skew-ms"))
        }
        if let now { checks.reference = try parseTime(now, flag: "--now") }
        return checks
    }
}

import ArgumentParser
import Foundation
import RekindleCore
import RekindleRuntime

/// The flags of a command that folds history from the input topics instead of files (`replay`,
/// `backtest`): the broker, the topic names (configured as for `rekindle run`), and where in time
/// to start.
struct TopicSourceOptions: ParsableArguments {
    @Option(name: .long, help: "Kafka bootstrap servers (HOST:PORT,...): without --input, the history is the input topics, partition k of each being task k, from their beginning to their end offsets when the run starts (read with assign, committing nothing).")
    var bootstrap: String?

    @Option(name: .long, help: "With --bootstrap: a YAML configuration file as for `rekindle run`; its topics (and REKINDLE_TOPIC_* variables) name the input topics, its kafka settings (and REKINDLE_KAFKA_*) go to librdkafka.")
    var config: String?

    @Option(name: .long, help: "With --bootstrap: start each input partition at its first message timestamped at or after this instant (RFC 3339), by the broker's time index; exits 2 where the broker gives none (the embedded broker).")
    var from: String?

    func validate() throws {
        if config != nil && bootstrap == nil { throw ValidationError("--config: names topics, so --bootstrap is needed") }
        if from != nil && bootstrap == nil { throw ValidationError("--from: reads topics, so --bootstrap is needed") }
    }

    /// Whether the history comes from the topics (no event file named).
    func readsTopics(_ history: HistoryOptions) -> Bool { bootstrap != nil && history.input.isEmpty }

    /// Refuses, when the history comes from topics, the file history's flags that mean nothing there.
    func check(_ history: HistoryOptions) throws {
        if from != nil && !history.input.isEmpty { throw ValidationError("--from: reads topics, not --input files") }
        guard readsTopics(history) else { return try history.requireInput() }
        if history.partitions != 1 { throw ValidationError("--partitions: from topics, each partition is a task; their count is the topics'") }
        if history.partitioner != "murmur2" { throw ValidationError("--partitioner: from topics, each message's partition is its task") }
        if history.now != nil { throw ValidationError("--now: from topics, the future-skew check measures from each message's timestamp, as live") }
    }

    /// The run configuration's topic names and librdkafka settings (file, then environment).
    func settings() throws -> RunConfiguration {
        guard bootstrap != nil else { return RunConfiguration() }
        return try RunConfiguration.load(file: config, environment: ProcessInfo.processInfo.environment)
    }

    /// Where the history is read, when it comes from topics.
    func source(_ history: HistoryOptions, _ settings: RunConfiguration) throws -> TopicHistory.Source? {
        guard let bootstrap, readsTopics(history) else { return nil }
        var source = TopicHistory.Source(bootstrap: bootstrap)
        source.topics = settings.topics
        source.kafka = settings.kafka
        if let from { source.from = try parseTime(from, flag: "--from") }
        return source
    }
}

/// Runs a job whose topic problems (a missing topic, no offsets for `--from`) are usage errors.
func asUsage<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as TopicReplayError {
        throw UsageError(message: error.message)
    }
}

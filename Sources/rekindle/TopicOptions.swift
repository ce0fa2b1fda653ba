import ArgumentParser
import Foundation
import RekindleCore
import RekindleRuntime

/// The flags of `rekindle replay` that read history from the input topics instead of files, or
/// write the outputs to topics instead of files: the broker, the topic names (configured as for
/// `rekindle run`), where in time to start, and each output topic by name.
struct TopicOptions: ParsableArguments {
    @Option(name: .long, help: "Kafka bootstrap servers (HOST:PORT,...): without --input, replay the input topics from their beginning to their end offsets at the start; with --triggers-topic, write there.")
    var bootstrap: String?

    @Option(name: .long, help: "A YAML configuration file as for `rekindle run`: its topics (and REKINDLE_TOPIC_* variables) name the input topics, its kafka settings (and REKINDLE_KAFKA_*) go to librdkafka.")
    var config: String?

    @Option(name: .long, help: "With --bootstrap: start each input partition at its first message timestamped at or after this instant (RFC 3339), by the broker's time index; fails where the broker has none (the embedded broker).")
    var from: String?

    @Option(name: .long, help: "With --bootstrap: write triggers to this topic instead of files (then --conversions-topic and --dead-letters-topic are needed too; no output topic has a default).")
    var triggersTopic: String?

    @Option(name: .long, help: "With --triggers-topic: where conversions go.")
    var conversionsTopic: String?

    @Option(name: .long, help: "With --triggers-topic: where dead letters (bad inputs) go.")
    var deadLettersTopic: String?

    @Option(name: .long, help: "With --triggers-topic: where withheld touches go (needed when the rules can withhold or a touch was withheld).")
    var withheldTopic: String?

    var writesTopics: Bool { triggersTopic != nil }

    func validate() throws {
        if config != nil && bootstrap == nil { throw ValidationError("--config: names topics, so --bootstrap is needed") }
        if from != nil && bootstrap == nil { throw ValidationError("--from: reads topics, so --bootstrap is needed") }
        let outputs = [("--conversions-topic", conversionsTopic), ("--dead-letters-topic", deadLettersTopic), ("--withheld-topic", withheldTopic)]
        if triggersTopic == nil, let named = outputs.first(where: { $0.1 != nil }) {
            throw ValidationError("\(named.0): output topics go with --triggers-topic")
        }
        if writesTopics {
            guard bootstrap != nil else { throw ValidationError("--triggers-topic: writes to a broker, so --bootstrap is needed") }
            for (flag, value) in outputs.prefix(2) where value == nil {
                throw ValidationError("\(flag): needed with --triggers-topic (output topics have no defaults, so no live topic is written unless named)")
            }
        }
    }

    /// The run configuration's topic names and librdkafka settings (file, then environment).
    func settings() throws -> RunConfiguration {
        try RunConfiguration.load(file: config, environment: ProcessInfo.processInfo.environment)
    }

    /// Where the history is read, when it comes from topics.
    func source(_ settings: RunConfiguration) throws -> TopicHistory.Source? {
        guard let bootstrap else { return nil }
        var source = TopicHistory.Source(bootstrap: bootstrap)
        source.topics = settings.topics
        source.kafka = settings.kafka
        if let from { source.from = try parseTime(from, flag: "--from") }
        return source
    }

    /// The output topics, when asked for.
    func outputs(_ settings: RunConfiguration) -> ReplayOutputTopics? {
        guard let bootstrap, let triggersTopic, let conversionsTopic, let deadLettersTopic else { return nil }
        var outputs = ReplayOutputTopics(
            bootstrap: bootstrap, triggers: triggersTopic, conversions: conversionsTopic, deadLetters: deadLettersTopic,
            withheld: withheldTopic)
        outputs.kafka = settings.kafka
        return outputs
    }
}

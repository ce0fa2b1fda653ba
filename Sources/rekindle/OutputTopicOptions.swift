import ArgumentParser
import RekindleRuntime

/// `rekindle replay`'s outputs as topics instead of files, each named by its own flag: none has a
/// default, so no live topic is written unless someone names it.
struct OutputTopicOptions: ParsableArguments {
    @Option(name: .long, help: "Write triggers to this topic instead of files (with --bootstrap; then --conversions-topic and --dead-letters-topic are needed too).")
    var triggersTopic: String?

    @Option(name: .long, help: "With --triggers-topic: where conversions go.")
    var conversionsTopic: String?

    @Option(name: .long, help: "With --triggers-topic: where dead letters (bad inputs) go.")
    var deadLettersTopic: String?

    @Option(name: .long, help: "With --triggers-topic: where withheld touches go (needed when the rules can withhold or a touch was withheld).")
    var withheldTopic: String?

    var named: Bool { triggersTopic != nil }

    func validate() throws {
        let companions = [("--conversions-topic", conversionsTopic), ("--dead-letters-topic", deadLettersTopic), ("--withheld-topic", withheldTopic)]
        if triggersTopic == nil, let given = companions.first(where: { $0.1 != nil }) {
            throw ValidationError("\(given.0): output topics go with --triggers-topic")
        }
        if named {
            for (flag, value) in companions.prefix(2) where value == nil {
                throw ValidationError("\(flag): needed with --triggers-topic (output topics have no defaults, so no live topic is written unless named)")
            }
        }
    }

    /// The output topics, when asked for.
    func outputs(bootstrap: String?, _ settings: RunConfiguration) throws -> ReplayOutputTopics? {
        guard let triggersTopic, let conversionsTopic, let deadLettersTopic else { return nil }
        guard let bootstrap else { throw ValidationError("--triggers-topic: writes to a broker, so --bootstrap is needed") }
        var outputs = ReplayOutputTopics(
            bootstrap: bootstrap, triggers: triggersTopic, conversions: conversionsTopic, deadLetters: deadLettersTopic,
            withheld: withheldTopic)
        outputs.kafka = settings.kafka
        return outputs
    }
}

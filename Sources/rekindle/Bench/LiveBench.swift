import ArgumentParser
import Foundation
import RekindleCore
import RekindleKafka
import RekindleRuntime
import RekindleTooling

/// Live rate through the embedded broker beside librdkafka's raw consume rate, same process,
/// same broker, same messages.
struct LiveBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live",
        abstract: "Produce generated events to the embedded broker, then time a raw consume and a live run over them.")

    @Option(name: .long, help: "Customers to generate (about 12 events each).")
    var customers = 80_000

    @Option(name: .long, help: "Days of history.")
    var days = 120

    @Option(name: .long, help: "Partitions per topic (the mock broker keeps only ~5 MiB per partition).")
    var partitions = 64

    @Option(name: .long, help: "Use this event file instead of generating one.")
    var input: String?

    @Option(name: .long, help: "Also time a live run that snapshots into a temporary directory every this many seconds.")
    var snapshotInterval: Double?

    // librdkafka 2.0.2's mock cluster draws each producer id at random (rd_jitter(1, 900000) x
    // 1000, rdkafka_mock_handlers.c) and finds a producer by id alone: when two of a run's
    // producers draw the same id, the later one's first AddPartitionsToTxn fails with
    // INVALID_PRODUCER_ID_MAPPING and the run stops with that error. Seen in 3 of 184 runs in
    // session 26; with the mock's debug log on, its PID check named task 50's own id (epoch 0)
    // as registered under another transactional id. A real cluster's ids are unique. Rerun, or
    // `--transactions off`.
    @Option(name: .long, help: "Outputs in Kafka transactions, one per task (on: as against a real cluster; the in-process broker implements none of their effects, but the calls cost what they cost; it may also give two producers one id, failing a run now and then with INVALID_PRODUCER_ID_MAPPING).")
    var transactions = TransactionMode.on

    @Option(name: .long, help: "Consumer events taken per batch of the live loop at most.")
    var maxBatch = LiveOptions(bootstrap: "").maxBatch

    func run() throws {
        if let input { try InputFile.check(input, flag: "--input") }
        var lines: [[UInt8]] = []
        if let input {
            guard let data = FileManager.default.contents(atPath: input) else { throw UsageError(message: "--input: cannot read \(input)") }
            lines = data.split(separator: 0x0a).map(Array.init)
        } else {
            var o = GeneratorOptions()
            o.customers = customers
            o.days = days
            SyntheticStream.generate(o) { lines.append(Array($0.utf8)) }
        }
        let cluster = try MockCluster()
        defer { cluster.close() }
        let topics = TopicNames()
        for t in topics.all { try cluster.createTopic(t, partitions: partitions) }
        func report(_ name: String, _ count: Int, _ d: Duration) -> Double {
            let s = d.seconds
            let rate = Double(count) / s
            print("\(name.padding(toLength: 34, withPad: " ", startingAt: 0)) \(count) msgs in \(String(format: "%.2f", s)) s = \(Int(rate)) msg/s")
            return rate
        }

        let clock = ContinuousClock()
        let producer = try Producer(["bootstrap.servers": cluster.bootstrapServers, "linger.ms": "20"])
        let produced = try clock.measure {
            for line in lines {
                switch line.withUnsafeBufferPointer({ EventDecoder.decode(bytes: $0) }) {
                case .success(let e): try producer.produce(topic: topics.name(of: e.topic), key: Array(e.customerId.utf8), value: line)
                case .failure: try producer.produce(topic: topics.orders, key: nil, value: line)
                }
            }
            try producer.flush()
        }
        _ = report("produce (decode + route + produce)", lines.count, produced)

        // Baseline: librdkafka reading the same partitions to their end, copying each message out.
        let raw = try Consumer(["bootstrap.servers": cluster.bootstrapServers, "group.id": "bench-raw", "fetch.wait.max.ms": "10"],
                               fromBeginning: true)
        var consumed = 0
        let inputs = topics.inputs.flatMap { t in (0..<partitions).map { TopicPartition(t, Int32($0)) } }
        let rawTime = try clock.measure {
            try raw.assign(inputs)
            var ended = Set<TopicPartition>()
            while ended.count < inputs.count {
                switch raw.poll(timeoutMs: 100) {
                case .message(let m)?:
                    consumed += 1
                    ended.remove(m.topicPartition)
                case .endOfPartition(let tp, _)?: ended.insert(tp)
                default: break
                }
            }
        }
        raw.close()
        let rawRate = report("raw consume (librdkafka baseline)", consumed, rawTime)

        var options = LiveOptions(bootstrap: cluster.bootstrapServers)
        options.groupId = "bench-live"
        options.stopWhenIdleSeconds = 0.2
        options.transactions = transactions
        options.maxBatch = maxBatch
        let cpuBefore = processCPUSeconds(), wallBefore = ContinuousClock.now
        let summary = try LiveRunner(options: options).run()
        let cpu = processCPUSeconds() - cpuBefore, wall = wallBefore.duration(to: .now).seconds
        guard let start = summary.firstAssigned, let end = summary.lastBusy else {
            throw UsageError(message: "the live run never got partitions")
        }
        let liveRate = report("live (consume, fold, produce)", summary.eventsIn, start.duration(to: end))
        // What bounds it: near the cores' count, the CPU (fold, decode, librdkafka's threads); far
        // below, waiting (deliveries, commits, polls).
        print("live run: \(String(format: "%.1f", cpu)) CPU s in \(String(format: "%.1f", wall)) s from its start to its exit = \(String(format: "%.2f", cpu / wall)) cores busy, on \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print("triggers \(summary.report.totalTriggers), conversions \(summary.report.totalConversions), dead letters \(summary.badInputs)")
        print("live / raw consume = \(String(format: "%.2f", liveRate / rawRate))")
        if let interval = snapshotInterval {
            // The same messages again, in a new group, with checkpoints and recovery bookkeeping on,
            // writing to fresh output topics (on the first run's topics every output would be
            // recognised as already produced, and skipped).
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rekindle-bench-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            options.groupId = "bench-live-snapshots"
            options.topics.triggers = "bench2-triggers"
            options.topics.conversions = "bench2-conversions"
            options.topics.deadLetters = "bench2-dead-letters"
            for t in [options.topics.triggers, options.topics.conversions, options.topics.deadLetters] {
                try cluster.createTopic(t, partitions: partitions)
            }
            options.snapshotStore = try DirectorySnapshotStore(directory: dir)
            options.snapshotIntervalSeconds = interval
            let checkpointed = try LiveRunner(options: options).run()
            guard let s2 = checkpointed.firstAssigned, let e2 = checkpointed.lastBusy else {
                throw UsageError(message: "the checkpointed run never got partitions")
            }
            let withSnapshots = report("live with snapshots every \(interval) s", checkpointed.eventsIn, s2.duration(to: e2))
            print("with snapshots / without = \(String(format: "%.2f", withSnapshots / liveRate))")
        }
    }
}

extension TransactionMode: ExpressibleByArgument {}

import ArgumentParser
import Foundation
import RekindleCore
import RekindleKafka
import RekindleRuntime

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks, each beside a baseline measured in the same run.",
        subcommands: [ReplayBench.self, StateBench.self, LiveBench.self, SnapshotBench.self])
}

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
        let summary = try LiveRunner(options: options).run()
        guard let start = summary.firstAssigned, let end = summary.lastBusy else {
            throw UsageError(message: "the live run never got partitions")
        }
        let liveRate = report("live (consume, fold, produce)", summary.eventsIn, start.duration(to: end))
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

/// Snapshot write and restore time, and bytes per customer, at a chosen number of customers.
struct SnapshotBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot", abstract: "Time encoding, writing and restoring one task snapshot of N customers.")

    @Option(name: .long, help: "Customers in the task.")
    var customers = 1_000_000

    func run() throws {
        // Each customer: a completed purchase of two products and a product view, so the state
        // holds facts, an order, a purchase, views, model counts and pending timers.
        var task = CampaignTask(rules: .defaults)
        var out: [Output] = []
        let clock = ContinuousClock()
        let base: Int64 = 1_767_225_600_000
        let folded = clock.measure {
            for i in 0..<customers {
                let id = "c\(i)"
                let t = base + Int64(i) * 10
                task.apply(Event(eventId: "o\(i)", customerId: id, occurredAt: t, body: .order(OrderEvent(
                    orderId: "o\(i)", status: .completed, total: 1990,
                    items: [OrderItem(productId: "p\(i % 500)"), OrderItem(productId: "p\((i * 7) % 500)")]))), into: &out)
                task.apply(Event(eventId: "v\(i)", customerId: id, occurredAt: t + 5, body: .productView(
                    ProductViewEvent(productId: "p\((i * 13) % 500)"))), into: &out)
                if out.count > 100_000 { out.removeAll(keepingCapacity: true) }
            }
        }
        print("folded \(customers) customers (\(2 * customers) events) in \(String(format: "%.2f", folded.seconds)) s")
        var state: [UInt8] = []
        let encode = clock.measure { state = task.encodeState() }
        let snapshot = TaskSnapshot(partition: 0, sequence: 1, rulesVersion: task.rules.hash, watermark: task.watermark,
                                    inputOffsets: [], outputOffsets: [], state: state)
        var bytes: [UInt8] = []
        let envelope = clock.measure { bytes = snapshot.encoded() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rekindle-snapbench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try DirectorySnapshotStore(directory: dir)
        let write = try clock.measure { try store.save(snapshot) }
        var restored: CampaignTask?
        let restore = try clock.measure {
            let read = try store.latestGood(partition: 0)
            restored = try CampaignTask(restoring: read.snapshot!.state, rules: .defaults)
        }
        guard restored?.encodeState() == state else { throw UsageError(message: "restored state differs") }
        print("state encode        \(String(format: "%.3f", encode.seconds)) s")
        print("envelope (SHA-256)  \(String(format: "%.3f", envelope.seconds)) s")
        print("save (envelope, write, fsync, rename) \(String(format: "%.3f", write.seconds)) s")
        print("read + verify + restore \(String(format: "%.3f", restore.seconds)) s")
        print("snapshot size \(bytes.count) bytes = \(bytes.count / customers) bytes per customer")
    }
}

/// The replay pipeline stage by stage, each beside baselines measured in the same run: a plain
/// dictionary fold of the same events, Foundation's JSONDecoder, and a Python orjson loop.
struct ReplayBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay", abstract: "Time reading, parsing, folding and the whole replay of an event file, beside baselines.")

    @Option(name: .long, help: "A JSON-lines event file (e.g. rekindle generate --customers 80000 --days 120).")
    var input: String

    struct Baseline: Decodable {
        var type: String
        var event_id: String
        var customer_id: String
        var occurred_at: String
        var order_id: String?
        var status: String?
        var total: Double?
        var product_id: String?
    }

    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
            let pages = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    func run() throws {
        try InputFile.check(input, flag: "--input")
        let clock = ContinuousClock()
        var rows: [(String, Int, Double)] = []
        func row(_ name: String, _ n: Int, _ d: Duration) { rows.append((name, n, d.seconds)) }

        var data = Data()
        var lines: [ArraySlice<UInt8>] = []
        var bytes: [UInt8] = []
        row("read lines only", 0, try clock.measure {
            data = try Data(contentsOf: URL(fileURLWithPath: input))
            bytes = [UInt8](data)
            lines = bytes.split(separator: 0x0a)
        })
        rows[0].1 = lines.count

        var fast = 0
        row("parse only (EventDecoder)", lines.count, clock.measure {
            for line in lines {
                if case .success = line.withUnsafeBufferPointer({ EventDecoder.decode(bytes: $0) }) { fast += 1 }
            }
        })
        var events: [SourcedEvent] = []
        events.reserveCapacity(lines.count)
        for (i, line) in lines.enumerated() {
            if case .success(let e) = line.withUnsafeBufferPointer({ EventDecoder.decode(bytes: $0) }) {
                events.append(SourcedEvent(event: e, sequence: i))
            }
        }
        var reference = 0
        row("parse only, reference path (JSON tree)", lines.count, clock.measure {
            for line in lines {
                if case .success = line.withUnsafeBufferPointer({ EventDecoder.decodeReference(bytes: $0) }) { reference += 1 }
            }
        })
        var decoded = 0
        let decoder = JSONDecoder()
        row("baseline: JSONDecoder parse", lines.count, clock.measure {
            for line in lines where (try? decoder.decode(Baseline.self, from: Data(line))) != nil { decoded += 1 }
        })

        let sorted = events.map(\.event).enumerated().sorted {
            ($0.element.occurredAt, $0.offset) < ($1.element.occurredAt, $1.offset)
        }.map(\.element)
        var plain: [String: (Int, Int64, Int64)] = [:]
        row("baseline: dictionary fold", sorted.count, clock.measure {
            for e in sorted {
                if var s = plain[e.customerId] {
                    s.0 += 1; s.1 = e.occurredAt; s.2 = e.occurredAt + 86_400_000
                    plain[e.customerId] = s
                } else {
                    plain[e.customerId] = (1, e.occurredAt, e.occurredAt + 86_400_000)
                }
            }
        })

        // Give freed memory back first, so the growth below is the task's state.
        _ = releaseFreedMemory(0)
        let before = Self.residentBytes()
        var task = CampaignTask(rules: .defaults)
        var out: [Output] = []
        var outputs = 0
        row("fold only (pre-parsed, sorted)", sorted.count, clock.measure {
            for e in sorted {
                task.apply(e, into: &out)
                if out.count > 10_000 { outputs += out.count; out.removeAll(keepingCapacity: true) }
            }
            if let last = sorted.last { task.advance(to: last.occurredAt, into: &out) }
            outputs += out.count
        })
        let stateBytes = Self.residentBytes() - before

        row("whole replay (read, parse, fold, write)", lines.count, try clock.measure {
            _ = try Self.streamingReplay(input)
        })
        let sink = try LineWriter(path: "/dev/null")
        row("whole replay, one thread, all in memory", lines.count, try clock.measure {
            var reader = EventFileReader()
            try reader.read(path: input)
            let result = Replay(rules: .defaults).run(events: reader.events, deadLetters: reader.deadLetters)
            for t in result.triggers { sink.write { t.appendJSON(to: &$0) } }
            for c in result.conversions { sink.write { c.appendJSON(to: &$0) } }
            try sink.close()
        })

        var python: Double?
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "scripts/bench_python_fold.py", input]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        if (try? p.run()) != nil {
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            let parts = text.split(separator: " ")
            if p.terminationStatus == 0, parts.count == 3, let n = Int(parts[1]), let s = Double(parts[2].trimmingCharacters(in: .whitespacesAndNewlines)) {
                rows.append(("baseline: Python orjson fold", n, s))
                python = Double(n) / s
            }
        }

        print("\(lines.count) lines, \(task.customerCount) customers, \(outputs) outputs")
        for (name, n, s) in rows {
            print("\(name.padding(toLength: 42, withPad: " ", startingAt: 0)) \(String(format: "%8.3f", s)) s  \(String(format: "%10.0f", Double(n) / s)) events/s")
        }
        let rate = { (name: String) in rows.first { $0.0 == name }.map { Double($0.1) / $0.2 } ?? 0 }
        let whole = rate("whole replay (read, parse, fold, write)")
        print("whole replay / dictionary fold = \(String(format: "%.3f", whole / rate("baseline: dictionary fold")))")
        print("parse / JSONDecoder = \(String(format: "%.2f", rate("parse only (EventDecoder)") / rate("baseline: JSONDecoder parse")))")
        if let python { print("whole replay / Python orjson fold = \(String(format: "%.2f", whole / python))") }
        else { print("Python orjson baseline not run (python3 with orjson missing: pip install orjson)") }
        print("state: \(stateBytes / max(1, task.customerCount)) bytes resident per customer (RSS growth while folding / customers)")
    }
}

extension ReplayBench {
    /// What `rekindle replay --input FILE` does, writing to /dev/null.
    static func streamingReplay(_ input: String, afterFold: ((CampaignTask) -> Void)? = nil) throws -> BacktestReport {
        let sinks = StreamingReplay.Sinks(
            triggers: try LineWriter(path: "/dev/null"), conversions: try LineWriter(path: "/dev/null"),
            deadLetters: try LineWriter(path: "/dev/null"))
        defer {
            try? sinks.triggers.close()
            try? sinks.conversions.close()
            try? sinks.deadLetters.close()
        }
        switch try StreamingReplay(rules: .defaults).run(paths: [input], into: sinks, afterFold: afterFold) {
        case .done(let report): return report
        case .unsorted: throw UsageError(message: "\(input): too far from occurred_at order to stream")
        }
    }
}

/// Resident state per customer: the growth of the process's resident memory while a streaming
/// replay folds a file, measured when the fold ends, divided by the customers in the task.
struct StateBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Bytes of resident state per customer after folding a file (e.g. generate --customers 1000000 --days 30).")

    @Option(name: .long, help: "A JSON-lines event file.")
    var input: String

    func run() throws {
        try InputFile.check(input, flag: "--input")
        _ = releaseFreedMemory(0)
        let before = ReplayBench.residentBytes()
        var customers = 0, after = 0, timers = 0
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            let report = try ReplayBench.streamingReplay(input) { task in
                _ = releaseFreedMemory(0)
                after = ReplayBench.residentBytes()
                customers = task.customerCount
                timers = task.pendingTimers
            }
            print("\(report.events) events folded")
        }
        print("\(customers) customers, \(timers) pending timers, in \(String(format: "%.1f", elapsed.seconds)) s")
        print("state: \((after - before) / max(1, customers)) bytes resident per customer (RSS growth \((after - before) >> 20) MiB)")
    }
}

/// glibc's `malloc_trim`, which Swift's Glibc module does not export: returns freed heap pages to
/// the system so a resident-memory delta measures live allocations.
@_silgen_name("malloc_trim")
func releaseFreedMemory(_ pad: Int) -> Int32

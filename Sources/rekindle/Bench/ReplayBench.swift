import ArgumentParser
import Foundation
import RekindleCore
import RekindleKafka
import RekindleRuntime

/// The replay pipeline stage by stage, each beside baselines measured in the same run: a plain
/// dictionary fold of the same events, Foundation's JSONDecoder, and a Python orjson loop.
struct ReplayBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay", abstract: "Time reading, parsing, folding and the whole replay of an event file, beside baselines.")

    @Option(name: .long, help: "A JSON-lines event file (e.g. rekindle generate --customers 80000 --days 120).")
    var input: String

    @Option(name: .long, help: "Time each reading, parsing and writing row this many times and keep the fastest.")
    var repeats = 1

    @Flag(name: .long, help: "Only the reading, parsing and writing rows (and the fold whose outputs are written).")
    var ioOnly = false

    @Flag(name: .long, help: "Only reading, parsing and the fold of the pre-parsed events (for a profiler).")
    var foldOnly = false

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

    @Option(name: .long, help: "A rule file laid over the defaults for every fold and replay row (e.g. families.views.max_neighbours: 200).")
    var rules: String?

    func run() throws {
        let ruleSet = try RuleFile.load(path: rules)
        try InputFile.check(input, flag: "--input")
        let clock = ContinuousClock()
        var rows: [(String, Int, Double)] = []
        func row(_ name: String, _ n: Int, _ d: Duration) { rows.append((name, n, d.seconds)) }
        /// The fastest of `repeats` runs: the I/O rows are short, and the machines are noisy. Their
        /// thread CPU time too (the fastest), which a loaded machine's waits for a core leave out.
        var cpu: [String: Double] = [:]
        func fastest(_ name: String, _ n: Int, _ body: () throws -> Void) rethrows {
            var best = Duration.seconds(Int64.max)
            var bestCPU = Double.infinity
            for _ in 0..<max(1, repeats) {
                let start = HitRateBench.threadCPUSeconds()
                best = min(best, try clock.measure(body))
                bestCPU = min(bestCPU, HitRateBench.threadCPUSeconds() - start)
            }
            row(name, n, best)
            cpu[name] = bestCPU
        }

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
        fastest("parse only (EventDecoder)", lines.count) {
            fast = 0
            for line in lines {
                if case .success = line.withUnsafeBufferPointer({ EventDecoder.decode(bytes: $0) }) { fast += 1 }
            }
        }
        var events: [SourcedEvent] = []
        events.reserveCapacity(lines.count)
        for (i, line) in lines.enumerated() {
            if case .success(let e) = line.withUnsafeBufferPointer({ EventDecoder.decode(bytes: $0) }) {
                events.append(SourcedEvent(event: e, sequence: i))
            }
        }
        if !ioOnly && !foldOnly {
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
        }

        let sorted = events.map(\.event).enumerated().sorted {
            ($0.element.occurredAt, $0.offset) < ($1.element.occurredAt, $1.offset)
        }.map(\.element)
        var plain: [String: (Int, Int64, Int64)] = [:]
        if foldOnly {
            var task = CampaignTask(rules: ruleSet)
            var outputs = 0
            fastest("fold only (pre-parsed, sorted)", sorted.count) {
                task = CampaignTask(rules: ruleSet)
                outputs = Self.fold(sorted, into: &task)
            }
            let work = task.recommendationWork
            print("\(sorted.count) events, \(task.customerCount) customers, \(outputs) outputs, "
                + "\(work.scorings) recommendation scorings walking \(work.neighbours) neighbours")
            for (name, n, s) in rows {
                let thread = cpu[name].map { String(format: "  (thread CPU %.3f s)", $0) } ?? ""
                print("\(name.padding(toLength: 54, withPad: " ", startingAt: 0)) \(String(format: "%8.3f", s)) s  \(String(format: "%10.0f", Double(n) / s)) events/s\(thread)")
            }
            return
        }
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
        let before = residentBytes()
        var task = CampaignTask(rules: ruleSet)
        var outputs = 0
        if !ioOnly {
            row("fold only (pre-parsed, sorted)", sorted.count, clock.measure { outputs = Self.fold(sorted, into: &task) })
        }
        // Measured while the sorted events are still held, so that their release is not counted.
        let stateBytes = withExtendedLifetime(sorted) { residentBytes() - before }

        // The replay's own reading after the state is measured: the heap it churns would
        // otherwise change what the fold's resident growth counts.
        var streamed = 0
        try fastest("read lines as the replay does (LineReader)", lines.count) {
            streamed = try EventFileReader.countLines(path: input)
        }
        // The replay's checks too: `occurred_at` against the moment it started (`--now` unset).
        let checks = InputChecks(reference: Millis(Date().timeIntervalSince1970 * 1000))
        var stageEvents = 0
        try fastest("read and parse as the replay's reader stage", lines.count) {
            stageEvents = 0
            try EventFileReader.forEachDecodedLine(path: input, checks: checks) { decoded, _ in
                if case .event = decoded { stageEvents += 1 }
            }
        }

        // The writer stage's whole input, from a second fold (untimed): kept by the timed one, the
        // outputs would be counted in its resident state. Its events are parsed and sorted again,
        // so that `sorted` ends with the timed fold, as the state figure has always had it.
        var produced: [Output] = []
        do {
            var again = CampaignTask(rules: ruleSet)
            var events: [Event] = []
            for line in lines {
                if case .success(let e) = line.withUnsafeBufferPointer({ EventDecoder.decode(bytes: $0) }) { events.append(e) }
            }
            let order = events.indices.sorted { (events[$0].occurredAt, $0) < (events[$1].occurredAt, $1) }
            for k in order { again.apply(events[k], into: &produced) }
            if let last = order.last { again.advance(to: events[last].occurredAt, into: &produced) }
            if ioOnly { task = again }
        }
        outputs = produced.count
        var written = 0
        try fastest("write only (trigger and conversion JSON to /dev/null)", lines.count) {
            // As the replay's writer stage: each output's JSON appended to its file's buffer.
            let triggers = try LineWriter(path: "/dev/null"), conversions = try LineWriter(path: "/dev/null")
            for o in produced {
                switch o {
                case .trigger(let t), .withheld(let t): triggers.write { t.appendJSON(to: &$0) }
                case .conversion(let c): conversions.write { c.appendJSON(to: &$0) }
                }
            }
            written = triggers.bytesWritten + conversions.bytesWritten
            try triggers.close()
            try conversions.close()
        }
        produced = []

        let sink = try LineWriter(path: "/dev/null")
        if !ioOnly {
            row("whole replay (read, parse, fold, write)", lines.count, try clock.measure {
                _ = try Self.streamingReplay(input, rules: ruleSet)
            })
            row("whole replay, one thread, all in memory", lines.count, try clock.measure {
                var reader = EventFileReader()
                try reader.read(path: input)
                let result = Replay(rules: ruleSet).run(events: reader.events, deadLetters: reader.deadLetters)
                for t in result.triggers { sink.write { t.appendJSON(to: &$0) } }
                for c in result.conversions { sink.write { c.appendJSON(to: &$0) } }
                try sink.close()
            })
        }

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

        print("\(lines.count) lines (\(streamed) as the replay reads them), \(fast) events parsed (\(stageEvents) by the reader stage), "
            + "\(task.customerCount) customers, \(outputs) outputs (\(written) bytes of JSON)")
        for (name, n, s) in rows {
            let thread = cpu[name].map { String(format: "  (thread CPU %.3f s)", $0) } ?? ""
            print("\(name.padding(toLength: 54, withPad: " ", startingAt: 0)) \(String(format: "%8.3f", s)) s  \(String(format: "%10.0f", Double(n) / s)) events/s\(thread)")
        }
        let rate = { (name: String) in rows.first { $0.0 == name }.map { Double($0.1) / $0.2 } ?? 0 }
        let whole = rate("whole replay (read, parse, fold, write)")
        if !ioOnly {
            print("whole replay / dictionary fold = \(String(format: "%.3f", whole / rate("baseline: dictionary fold")))")
            print("parse / JSONDecoder = \(String(format: "%.2f", rate("parse only (EventDecoder)") / rate("baseline: JSONDecoder parse")))")
        }
        // The reader and writer stages per input line, on one core each: beside the whole replay's
        // budget per line (the Python loop's) they say how much of it the I/O stages take.
        let perLine = { (name: String) in rows.first { $0.0 == name }.map { $0.2 / Double(lines.count) * 1e9 } ?? 0 }
        let reader = "read and parse as the replay's reader stage", writer = "write only (trigger and conversion JSON to /dev/null)"
        let cpuPerLine = { (name: String) in (cpu[name] ?? 0) / Double(lines.count) * 1e9 }
        print("per input line: reader stage \(String(format: "%.0f", perLine(reader))) ns (\(String(format: "%.0f", cpuPerLine(reader))) ns CPU), "
            + "writer stage \(String(format: "%.0f", perLine(writer))) ns (\(String(format: "%.0f", cpuPerLine(writer))) ns CPU)")
        if let python {
            let stage = { (name: String) in String(format: "%.2f", rate(name) / python) }
            print("reader stage / Python orjson fold = \(stage(reader)), writer stage / Python orjson fold = \(stage(writer))")
            if !ioOnly { print("whole replay / Python orjson fold = \(String(format: "%.2f", whole / python))") }
        } else {
            print("Python orjson baseline not run (python3 with orjson missing: pip install orjson)")
        }
        if !ioOnly { print("state: \(stateBytes / max(1, task.customerCount)) bytes resident per customer (RSS growth while folding / customers)") }
    }
}

extension ReplayBench {
    /// Folds the events in order and advances to the last one's time; the outputs' count (they are
    /// dropped in batches, as a sink would take them).
    static func fold(_ sorted: [Event], into task: inout CampaignTask) -> Int {
        var out: [Output] = []
        var outputs = 0
        for e in sorted {
            task.apply(e, into: &out)
            if out.count > 10_000 { outputs += out.count; out.removeAll(keepingCapacity: true) }
        }
        if let last = sorted.last { task.advance(to: last.occurredAt, into: &out) }
        return outputs + out.count
    }

    /// What `rekindle replay --input FILE` does, writing to /dev/null.
    static func streamingReplay(_ input: String, rules: RuleSet = .defaults, afterFold: ((CampaignTask) -> Void)? = nil) throws -> BacktestReport {
        let sinks = StreamingReplay.Sinks(
            triggers: try LineWriter(path: "/dev/null"), conversions: try LineWriter(path: "/dev/null"),
            deadLetters: try LineWriter(path: "/dev/null"))
        defer {
            try? sinks.triggers.close()
            try? sinks.conversions.close()
            try? sinks.deadLetters.close()
        }
        switch try StreamingReplay(rules: rules).run(paths: [input], into: sinks, afterFold: afterFold) {
        case .done(let report): return report
        case .unsorted: throw UsageError(message: "\(input): too far from occurred_at order to stream")
        }
    }
}

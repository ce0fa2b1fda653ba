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
        let before = residentBytes()
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
        let stateBytes = residentBytes() - before

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

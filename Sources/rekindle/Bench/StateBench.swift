import ArgumentParser
import Foundation
import RekindleCore
import RekindleKafka
import RekindleRuntime

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
        let before = residentBytes()
        var customers = 0, after = 0, timers = 0
        var footprint: [(part: String, bytes: Int)] = []
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            let report = try ReplayBench.streamingReplay(input) { task in
                _ = releaseFreedMemory(0)
                after = residentBytes()
                customers = task.customerCount
                timers = task.pendingTimers
                footprint = task.footprint
                // What malloc holds while the task lives (to standard error): heap arenas, mmapped blocks.
                printMallocStats()
            }
            print("\(report.events) events folded")
        }
        print("\(customers) customers, \(timers) pending timers, in \(String(format: "%.1f", elapsed.seconds)) s")
        print("state: \((after - before) / max(1, customers)) bytes resident per customer (RSS growth \((after - before) >> 20) MiB)")
        // The parts not indented add up to what the task holds; the rest of the
        // growth is the model, the replay's buffers, and malloc's free and partly used pages.
        let held = footprint.filter { !$0.part.hasPrefix(" ") }.reduce(0) { $0 + $1.bytes }
        for (part, bytes) in footprint + [("the rest (model, buffers, malloc)", after - before - held)] {
            print("  \(part.padding(toLength: 38, withPad: " ", startingAt: 0)) \(String(format: "%6.1f", Double(bytes) / Double(max(1, customers)))) bytes per customer")
        }
    }
}

import ArgumentParser
import Foundation
import RekindleRuntime
import RekindleTooling

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run seeded fault-injection simulations of the live runtime and check exactly-once output.",
        discussion: """
            Each seed picks a stream, partitions, instances, batch sizes, crashes, lost snapshot writes,
            snapshot corruption and rebalances, drives the live engine against a simulated log, and
            checks the outputs equal a clean replay. A failure prints its seed and how to replay it.
            """)

    @Option(name: .long, help: "Run just this seed, printing what it did.")
    var seed: UInt64?

    @Option(name: .long, help: "How many seeds to run.")
    var seeds = 200

    @Option(name: .long, help: "The first seed.")
    var from: UInt64 = 1

    func run() throws {
        if let seed {
            let r = Simulation.run(seed: seed)
            print(r)
            if r.failure != nil { throw ExitCode(1) }
            return
        }
        var failed: [UInt64] = []
        var crashes = 0, snapshots = 0, corruptions = 0, lost = 0
        let started = Date()
        for s in from..<(from + UInt64(seeds)) {
            let r = Simulation.run(seed: s)
            crashes += r.crashes
            snapshots += r.snapshots
            corruptions += r.corruptions
            lost += r.lostSnapshotWrites
            if r.failure != nil {
                failed.append(s)
                print(r)
            }
        }
        print("simulate: \(seeds - failed.count) passed, \(failed.count) failed (seeds \(from)..<\(from + UInt64(seeds)); "
            + "\(crashes) crashes, \(snapshots) snapshots, \(lost) lost writes, \(corruptions) corruptions; "
            + "\(String(format: "%.1f", Date().timeIntervalSince(started))) s)")
        if !failed.isEmpty { throw ExitCode(1) }
    }
}

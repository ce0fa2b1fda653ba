import ArgumentParser
import Foundation
import RekindleRuntime
import RekindleTooling

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run seeded fault-injection simulations of the live loop and check exactly-once output.",
        discussion: """
            Each seed picks a stream, partitions, 1 to 3 instances, transactions on or off, batch sizes,
            deliveries, crashes (between iterations and inside the loop), failed, lost and corrupted snapshot
            writes, joins, leaves and paused instances that come back after their partitions moved (zombies).
            It runs the same loop as `rekindle run` over a simulated log, group, producers, snapshot store and
            clock, and checks the invariants after every step: no output lost, none doubled, every output
            byte-identical to a clean replay's, no snapshot claiming an undelivered output, no snapshot of a
            task's former owner (a zombie) ranking in or above the new owner's claimed epoch, no group commit
            past what is delivered. Zombies also pause inside the loop (mid-iteration, e.g. between a fold and
            a snapshot write) unless --no-pauses-inside-the-loop. A failure prints its seed and how to replay
            it; REKINDLE_SIM_TRACE=1 prints each step.
            """)

    @Option(name: .long, help: "Run just this seed, printing what it did.")
    var seed: UInt64?

    @Option(name: .long, help: "How many seeds to run.")
    var seeds = 200

    @Option(name: .long, help: "The first seed.")
    var from: UInt64 = 1

    @Flag(name: .long, inversion: .prefixedNo,
          help: "Let zombies also pause inside the loop (mid-iteration, e.g. between a fold and a snapshot write); --no-pauses-inside-the-loop pauses them between iterations only.")
    var pausesInsideTheLoop = true

    func run() throws {
        if let seed {
            let r = Simulation.run(seed: seed, pausesInsideTheLoop: pausesInsideTheLoop)
            print(r)
            if r.failure != nil { throw ExitCode(1) }
            return
        }
        var failed: [UInt64] = []
        var total = SimulationTotals()
        let started = Date()
        for s in from..<(from + UInt64(seeds)) {
            let r = Simulation.run(seed: s, pausesInsideTheLoop: pausesInsideTheLoop)
            total.add(r)
            if r.failure != nil {
                failed.append(s)
                print(r)
            }
        }
        print("simulate: \(seeds - failed.count) passed, \(failed.count) failed (seeds \(from)..<\(from + UInt64(seeds)); "
            + "\(String(format: "%.1f", Date().timeIntervalSince(started))) s)")
        print(total)
        if !failed.isEmpty { throw ExitCode(1) }
    }
}

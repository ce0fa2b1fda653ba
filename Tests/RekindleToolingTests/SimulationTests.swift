import RekindleTooling
import Testing

/// Seeded fault schedules run through the real live loop (`LiveRunner`, as `rekindle run` runs
/// it) over a simulated log: crashes between iterations and inside the loop, failed, lost and
/// corrupted snapshot writes, joins, leaves and zombies, with transactions on and off. Every
/// invariant holds after every step; `rekindle simulate --seeds N` runs more.
@Suite struct SimulationTests {
    @Test func seededFaultSchedulesThroughTheRealLoopKeepEveryInvariant() {
        var total = SimulationTotals()
        for seed: UInt64 in 1...120 {
            let r = Simulation.run(seed: seed)
            total.add(r)
            #expect(r.failure == nil, "\(r)")
        }
        // The schedules really injected every kind of fault, with and without transactions.
        #expect(total.withTransactions > 30 && total.runs - total.withTransactions > 30, "\(total)")
        for point in ["between iterations", "produce", "flush", "group commit", "snapshot write, before its rename"] {
            #expect(total.counts.crashPoints[point, default: 0] > 5, "\(point): \(total)")
        }
        #expect(total.counts.pauses > 50 && total.counts.leaves > 50 && total.counts.corruptions > 100 && total.counts.failedSnapshotWrites > 20, "\(total)")
        // Zombies without transactions do double what they had in flight: the checker sees it.
        #expect(total.counts.zombieDoubles > 0, "\(total)")
    }

    @Test func aRunIsDeterminedByItsSeed() {
        let a = Simulation.run(seed: 34), b = Simulation.run(seed: 34)
        #expect(a.description == b.description)
    }
}

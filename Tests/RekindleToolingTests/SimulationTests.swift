import RekindleTooling
import Testing

/// 200 seeded fault schedules (crashes with partly landed outputs, lost snapshot writes,
/// corrupted snapshots, rebalances between 1 and 3 instances) through the live engine: the outputs
/// must equal a clean replay's, none lost, none doubled. `rekindle simulate --seeds N` runs more.
@Suite struct SimulationTests {
    @Test func twoHundredSeededFaultSchedulesLeaveOutputsExactlyOnce() {
        var crashes = 0, corruptions = 0, lost = 0
        for seed: UInt64 in 1...200 {
            let r = Simulation.run(seed: seed)
            crashes += r.crashes
            corruptions += r.corruptions
            lost += r.lostSnapshotWrites
            #expect(r.failure == nil, "\(r)")
        }
        // The schedules really injected faults.
        #expect(crashes > 300 && corruptions > 100 && lost > 30)
    }
}

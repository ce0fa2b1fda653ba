import ArgumentParser

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks, each beside a baseline measured in the same run.",
        subcommands: [ReplayBench.self, StateBench.self, LiveBench.self, SnapshotBench.self, HitRateBench.self, ChurnBench.self])
}

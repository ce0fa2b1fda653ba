import Foundation
import Logging
import RekindleCore
import RekindleKafka
import RekindleRuntime

/// What the faults and checks of one or more runs add up to: evidence that they were injected.
public struct SimulationCounts: Sendable {
    public var iterations = 0
    /// Where the crashes struck: between iterations, or inside the loop at a client call.
    public var crashPoints: [String: Int] = [:]
    public var joins = 0
    public var leaves = 0
    public var pauses = 0
    /// Of the pauses, those inside a call of the loop (mid-iteration).
    public var pausesInside = 0
    public var snapshots = 0
    public var failedSnapshotWrites = 0
    public var corruptions = 0
    public var rejectedCommits = 0
    public var zombieDoubles = 0
    /// Snapshots zombies wrote (each checked to rank below its task's newest claim).
    public var zombieSnapshots = 0
    /// Claims refused because another owner had claimed the epoch first (the task retried).
    public var refusedClaims = 0
    public var checks = 0

    public init() {}

    public var crashes: Int { crashPoints.values.reduce(0, +) }
    public var lostSnapshotWrites: Int { crashPoints["snapshot write, before its rename"] ?? 0 }

    public mutating func add(_ o: SimulationCounts) {
        iterations += o.iterations
        crashPoints.merge(o.crashPoints, uniquingKeysWith: +)
        joins += o.joins
        leaves += o.leaves
        pauses += o.pauses
        pausesInside += o.pausesInside
        snapshots += o.snapshots
        failedSnapshotWrites += o.failedSnapshotWrites
        corruptions += o.corruptions
        rejectedCommits += o.rejectedCommits
        zombieDoubles += o.zombieDoubles
        zombieSnapshots += o.zombieSnapshots
        refusedClaims += o.refusedClaims
        checks += o.checks
    }
}

/// What one seeded simulation did, and the first broken invariant if any.
public struct SimulationReport: Sendable, CustomStringConvertible {
    public var seed: UInt64
    public var events = 0
    public var partitions = 0
    public var transactions = false
    public var steps = 0
    public var counts = SimulationCounts()
    public var triggers = 0
    public var failure: String?

    public var description: String {
        let c = counts
        let facts = "seed \(seed): \(events) events, \(partitions) partitions, transactions \(transactions ? "on" : "off"), "
            + "\(steps) steps (\(c.iterations) loop iterations), \(c.crashes) crashes, \(c.joins) joins, \(c.leaves) leaves, "
            + "\(c.pauses) pauses (\(c.pausesInside) inside the loop), \(c.snapshots) snapshots (\(c.lostSnapshotWrites) lost, "
            + "\(c.failedSnapshotWrites) failed, \(c.corruptions) corrupted, \(c.zombieSnapshots) by zombies, \(c.refusedClaims) claims refused), "
            + "\(c.zombieDoubles) zombie doubles, \(triggers) triggers, "
            + "\(c.checks) checks"
        guard let failure else { return facts + ": ok" }
        return facts + ": FAILED: \(failure)\n  replay it with: rekindle simulate --seed \(seed)"
    }
}

/// A deterministic simulation of the live runtime in the style of FoundationDB and TigerBeetle.
/// From a seed it chooses the stream, the partition count, 1 to 3 instances, transactions on or
/// off, batch sizes and interleavings, deliveries, crashes (between iterations, and inside the
/// loop at a produce, flush, group commit, transaction commit or snapshot write), failed and lost
/// snapshot writes, corrupted snapshots, joins, graceful leaves and paused instances that come
/// back after their partitions moved (zombies). It runs the real `LiveRunner` loop, the one
/// `rekindle run` runs, over a simulated log, group, producers, snapshot store and clock, and
/// checks the invariants after every step (`InvariantCheckers`).
public enum Simulation {
    /// `pausesInsideTheLoop`: zombies may also stop inside a client call of the loop (see
    /// `World.pauseInside`), e.g. between a fold and a snapshot write. On by default since
    /// snapshots carry owner epochs and a task claims its epoch before it folds; off pauses
    /// zombies between iterations only.
    public static func run(seed: UInt64, pausesInsideTheLoop: Bool = true) -> SimulationReport {
        let world = World(seed: seed, pausesInsideTheLoop: pausesInsideTheLoop)
        return world.run()
    }

    /// Compares two sorted multisets of lines; nil when equal, else counts and first examples of
    /// what is missing and what is extra or doubled.
    public static func difference(_ got: [String], _ want: [String], _ what: String) -> String? {
        var missing: [String] = [], extra: [String] = []
        var i = 0, j = 0
        while i < got.count || j < want.count {
            if j == want.count || (i < got.count && got[i] < want[j]) { extra.append(got[i]); i += 1 }
            else if i == got.count || want[j] < got[i] { missing.append(want[j]); j += 1 }
            else { i += 1; j += 1 }
        }
        guard !missing.isEmpty || !extra.isEmpty else { return nil }
        let wanted = Set(want)
        let doubled = extra.filter { wanted.contains($0) }.count
        return "\(what): \(got.count) on the log, \(want.count) by replay; \(missing.count) missing"
            + (missing.first.map { " (first: \($0.prefix(160)))" } ?? "")
            + ", \(extra.count) extra (\(doubled) of them doubled)" + (extra.first.map { " (first: \($0.prefix(160)))" } ?? "")
    }

    final class World {
        final class Instance {
            let context: InstanceContext
            let runner: LiveRunner
            var paused = false
            init(context: InstanceContext, runner: LiveRunner) {
                self.context = context
                self.runner = runner
            }
        }

        var report: SimulationReport
        let cluster: SimulatedCluster
        var instances: [Instance] = []
        var nextId = 0
        let maxInstances: Int
        let transactions: Bool
        let chaosSteps: Int
        let traceEnabled = ProcessInfo.processInfo.environment["REKINDLE_SIM_TRACE"] != nil
        let logger: Logger = {
            var l = Logger(label: "rekindle.simulation")
            l.logLevel = ProcessInfo.processInfo.environment["REKINDLE_SIM_TRACE"] != nil ? .info : .critical
            return l
        }()

        let pausesInsideTheLoop: Bool

        init(seed: UInt64, pausesInsideTheLoop: Bool) {
            self.pausesInsideTheLoop = pausesInsideTheLoop
            var rng = SplitMix64(seed: seed)
            report = SimulationReport(seed: seed)
            var o = GeneratorOptions()
            o.seed = seed
            o.customers = 15 + rng.below(60)
            o.days = 15 + rng.below(45)
            o.products = 40
            o.badFraction = 0.02
            var lines: [String] = []
            SyntheticStream.generate(o) { lines.append($0) }
            let partitions = 1 + rng.below(3)
            maxInstances = 1 + rng.below(3)
            transactions = rng.below(2) == 0
            chaosSteps = 40 + rng.below(400)
            let topics = TopicNames()
            // Place the inputs first (bad lines go to a random partition), then derive the oracle
            // from exactly what the log holds.
            let placed = SimulatedCluster(
                lines: lines, partitions: partitions, rng: rng,
                checkers: InvariantCheckers(expected: [], badInputs: [], deadLetterTopic: topics.deadLetters))
            let (expected, bad) = Self.oracle(placed)
            placed.checkers = InvariantCheckers(expected: expected, badInputs: bad, deadLetterTopic: topics.deadLetters)
            cluster = placed
            report.partitions = partitions
            report.events = lines.count
            report.transactions = transactions
        }

        /// The clean replay of the log's inputs, ties in the order the live merge uses (topic,
        /// then offset): its outputs, and where the bad inputs are.
        static func oracle(_ cluster: SimulatedCluster) -> (Set<[UInt8]>, Set<String>) {
            var ordered: [(Topic, TopicPartition, ConsumedMessage)] = []
            for (tp, messages) in cluster.inputs {
                let topic = cluster.topics.input(named: tp.topic)!
                for m in messages { ordered.append((topic, tp, m)) }
            }
            ordered.sort { ($0.0.rawValue, $0.1.partition, $0.2.offset) < ($1.0.rawValue, $1.1.partition, $1.2.offset) }
            var events: [SourcedEvent] = []
            var bad = Set<String>()
            for (_, tp, m) in ordered {
                switch m.value.withUnsafeBufferPointer({ EventDecoder.decode(bytes: $0) }) {
                case .success(let e): events.append(SourcedEvent(event: e, sequence: events.count))
                case .failure: bad.insert("\(tp.topic)|\(tp.partition)|\(m.offset)")
                }
            }
            var replay = Replay(rules: .defaults)
            replay.partitions = cluster.partitions
            let r = replay.run(events: events, deadLetters: [])
            var expected = Set(r.triggers.map(\.json))
            expected.formUnion(r.conversions.map(\.json))
            expected.formUnion(r.withheld.map(\.json))
            return (expected, bad)
        }

        func trace(_ s: @autoclosure () -> String) {
            if traceEnabled { print("  [\(report.steps) t=\(cluster.clock.elapsed)] \(s())") }
        }

        var failed: Bool { cluster.checkers.violation != nil || report.failure != nil }

        func run() -> SimulationReport {
            addInstance()
            while report.steps < chaosSteps, !failed {
                report.steps += 1
                chaosStep()
            }
            if !failed { calmEnd() }
            cluster.checkers.finishedIfSound(failed: failed)
            let c = cluster.checkers.counts
            report.counts.checks = c.checks
            report.counts.zombieDoubles = c.doubledByZombies
            report.counts.failedSnapshotWrites = c.failedSnapshotWrites
            report.counts.rejectedCommits = c.rejectedCommits
            report.counts.snapshots = c.snapshots
            report.counts.zombieSnapshots = c.zombieSnapshots
            report.counts.refusedClaims = c.refusedClaims
            report.triggers = cluster.outputs.filter { $0.key.topic == cluster.topics.triggers }.reduce(0) { $0 + $1.value.count }
            if report.failure == nil, let v = cluster.checkers.violation { report.failure = v }
            return report
        }

        /// Instances that can act now: not paused, and not suspended inside a call.
        var active: [Instance] { instances.filter { !$0.paused && $0 !== suspended } }

        func chaosStep() {
            let live = active
            guard !live.isEmpty else {
                if let z = instances.first(where: { $0.paused }) { resume(z) }
                return
            }
            let x = live[cluster.rng.below(live.count)]
            switch cluster.rng.below(100) {
            case 0..<45: iterate(x)
            case 45..<65: deliver(x)
            case 65..<68:
                x.context.die(at: "between iterations")
                bury(x)
            case 68..<70:
                if let what = cluster.store.corrupt(&cluster.rng) {
                    report.counts.corruptions += 1
                    trace(what)
                }
            case 70..<73: if instances.count < maxInstances { addInstance() }
            case 73..<76: if live.count > 1 { leave(x) }
            case 76..<78: if live.count > 1 { pause(x) }
            case 78..<82:
                if let z = instances.first(where: { $0.paused }) { resume(z) }
            default:
                cluster.clock.advance(.milliseconds(Int64(cluster.rng.below(400))))
                iterate(x)
            }
        }

        /// Faults stop; zombies come back, all but one instance leave, and the last runs until
        /// idle with everything delivered, as `rekindle run --stop-when-idle` ends.
        func calmEnd() {
            cluster.faults = false
            for z in instances where z.paused { resume(z) }
            while instances.count > 1, !failed { leave(instances.last!) }
            var rounds = 0
            while !failed {
                rounds += 1
                if rounds > 50_000 {
                    report.failure = "did not go idle in \(rounds) iterations of the calm end"
                    return
                }
                let last = instances[0]
                // Dead (a resumed zombie fenced at its first commit, say): `bury` replaced it, and
                // the replacement runs on; the end is not reached until one goes idle.
                guard let more = iterate(last) else { continue }
                if !more { break }
                deliver(last)
            }
            guard !failed else { return }
            do {
                _ = try instances[0].runner.finish()
            } catch {
                report.failure = "the last instance did not finish: \(error)"
            }
        }

        // MARK: Actions

        func addInstance() {
            let context = InstanceContext(id: nextId, cluster: cluster)
            nextId += 1
            var o = LiveOptions(bootstrap: "simulated")
            o.groupId = "simulation"
            o.snapshotStore = SimulatedSnapshotWriter(context: context)
            o.snapshotIntervalSeconds = Double(100 + cluster.rng.below(2_000)) / 1_000
            o.snapshotEveryEvents = 10 + cluster.rng.below(300)
            o.transactions = transactions ? .on : .off
            o.stopWhenIdleSeconds = 0
            o.progressIntervalSeconds = 1e9
            let runner = LiveRunner(options: o, metrics: nil, logger: logger, transport: SimulatedTransport(context: context),
                                    clock: cluster.clock)
            let instance = Instance(context: context, runner: runner)
            if pausesInsideTheLoop {
                context.pauseHere = { [unowned self, unowned instance] point in self.pauseInside(instance, at: point) }
            }
            instances.append(instance)
            report.counts.joins += 1
            trace("instance \(context.id) joins")
            do {
                try runner.start()
            } catch {
                report.failure = "instance \(context.id) did not start: \(error)"
            }
        }

        /// One iteration of the instance's loop; nil when it died in it.
        @discardableResult
        func iterate(_ x: Instance) -> Bool? {
            let context = x.context
            context.iteration += 1
            context.consumer?.budget = 1 + cluster.rng.below(40)
            report.counts.iterations += 1
            var more = true
            do {
                more = try x.runner.iterate()
            } catch {
                trace("instance \(context.id) stops: \(error)")
                context.die(at: context.crashedAt ?? Self.exit(error))
            }
            if context.dead {
                bury(x)
                return nil
            }
            return more
        }

        /// Why a process ended itself (the loop threw), as a kind for the totals.
        static func exit(_ error: any Error) -> String {
            let text = "\(error)"
            if text.contains("fenced") { return "exit: fenced by the task's new owner" }
            if text.contains("snapshot writes failed in a row") { return "exit: snapshot failure limit" }
            return "exit: \(text)"
        }

        func deliver(_ x: Instance) {
            for p in x.context.producers { p.deliver(all: false) }
        }

        /// The process is gone: what was in flight lands as a prefix per partition (without
        /// transactions), and the group moves its partitions on.
        func bury(_ x: Instance) {
            guard instances.contains(where: { $0 === x }) else { return }
            let context = x.context
            report.counts.crashPoints[context.crashedAt ?? "unknown", default: 0] += 1
            trace("CRASH instance \(context.id) at \(context.crashedAt ?? "?") with \(context.undelivered) undelivered")
            for p in context.producers { p.crash() }
            cluster.members[context.id] = nil
            instances.removeAll { $0 === x }
            if instances.isEmpty || (instances.count < maxInstances && cluster.rng.below(2) == 0) { addInstance() }
        }

        /// A graceful leave: `finish` delivers, commits, and leaves the group, revoking (and so
        /// snapshotting) its tasks.
        func leave(_ x: Instance) {
            let context = x.context
            trace("instance \(context.id) leaves")
            do {
                _ = try x.runner.finish()
            } catch {
                context.die(at: context.crashedAt ?? Self.exit(error))
            }
            if context.dead {
                bury(x)
                return
            }
            report.counts.leaves += 1
            cluster.members[context.id] = nil
            instances.removeAll { $0 === x }
            if instances.isEmpty { addInstance() }
        }

        /// The process stops (a long GC, SIGSTOP, a VM migration) past its session timeout: the
        /// group expels it and its partitions go to others; it does not know until it polls.
        /// Without transactions, what it had in flight may land after the new owner recovered.
        func pause(_ x: Instance) {
            let context = x.context
            report.counts.pauses += 1
            x.paused = true
            expel(context)
            trace("instance \(context.id) pauses with \(context.undelivered) undelivered")
        }

        func expel(_ context: InstanceContext) {
            cluster.members[context.id]?.expelled = true
            if !transactions {
                for p in context.producers { cluster.checkers.mayDouble.formUnion(p.inFlightValues) }
            }
        }

        func resume(_ x: Instance) {
            x.paused = false
            trace("instance \(x.context.id) resumes")
        }

        /// The instance in whose call the world is stepping the others.
        var suspended: Instance?

        /// A pause in the middle of the loop, inside a client call (before a produce, a group
        /// commit, a transaction commit or a snapshot write): the group expels the instance, the
        /// others go on for a while, and then the call continues as if nothing happened, which is
        /// what a zombie sees. One level deep; not in the calm end.
        ///
        /// What it exercises: with transactions the new owner's producer, made on assignment,
        /// fences the zombie's commit; a zombie that goes on to a snapshot write before its next
        /// poll writes one for a task it no longer owns, which the store takes (it is not fenced)
        /// but which ranks below the new owner's claim, so no restore uses it once the new owner
        /// may have produced (`InvariantCheckers.snapshotSaved`). A pause inside a claim write
        /// lets another member claim the same epoch meanwhile: the store refuses the second
        /// claim. See deploy/README.md.
        func pauseInside(_ x: Instance, at point: String) {
            guard suspended == nil, cluster.faults, !failed, active.count > 1, report.steps < chaosSteps,
                  cluster.rng.below(1000) < 8
            else { return }
            suspended = x
            defer { suspended = nil }
            report.counts.pauses += 1
            report.counts.pausesInside += 1
            expel(x.context)
            trace("instance \(x.context.id) pauses inside the loop, at \(point)")
            for _ in 0..<(1 + cluster.rng.below(30)) where !failed && report.steps < chaosSteps {
                report.steps += 1
                chaosStep()
            }
            trace("instance \(x.context.id) resumes inside the loop, at \(point)")
        }
    }
}

/// What many seeds did together.
public struct SimulationTotals: CustomStringConvertible, Sendable {
    public var runs = 0
    public var withTransactions = 0
    public var counts = SimulationCounts()

    public init() {}

    public mutating func add(_ r: SimulationReport) {
        runs += 1
        if r.transactions { withTransactions += 1 }
        counts.add(r.counts)
    }

    public var description: String {
        let c = counts
        let points = c.crashPoints.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        return "  \(runs) runs (\(withTransactions) with transactions), \(c.iterations) loop iterations, \(c.checks) invariant checks\n"
            + "  \(c.crashes) crashes: \(points)\n"
            + "  \(c.joins) joins, \(c.leaves) leaves, \(c.pauses) pauses (zombies, \(c.pausesInside) of them inside the loop; "
            + "\(c.rejectedCommits) of their commits rejected, \(c.zombieDoubles) outputs doubled by zombies without transactions)\n"
            + "  \(c.snapshots) snapshots written (\(c.zombieSnapshots) by zombies, each ranked below its task's newest claim; "
            + "\(c.refusedClaims) claims refused to a rival claimant of the same epoch), \(c.failedSnapshotWrites) writes failed, \(c.corruptions) corrupted"
    }
}

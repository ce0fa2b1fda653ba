import Foundation
import Logging
import RekindleCore
import RekindleKafka
import RekindleRuntime

/// What one seeded simulation did, and the first broken invariant if any.
public struct SimulationReport: Sendable, CustomStringConvertible {
    public var seed: UInt64
    public var events = 0
    public var partitions = 0
    public var steps = 0
    public var crashes = 0
    public var rebalances = 0
    public var snapshots = 0
    public var lostSnapshotWrites = 0
    public var corruptions = 0
    public var triggers = 0
    public var failure: String?

    public var description: String {
        let facts = "seed \(seed): \(events) events, \(partitions) partitions, \(steps) steps, \(crashes) crashes, "
            + "\(rebalances) rebalances, \(snapshots) snapshots (\(lostSnapshotWrites) lost, \(corruptions) corrupted), \(triggers) triggers"
        guard let failure else { return facts + ": ok" }
        return facts + ": FAILED: \(failure)\n  replay it with: rekindle simulate --seed \(seed)"
    }
}

/// A deterministic simulation of the live runtime in the style of FoundationDB and TigerBeetle:
/// from a seed it chooses the stream, the partition count, 1 to 3 instances, batch sizes and
/// topic interleavings, crashes (with unflushed outputs partly landed, and snapshot writes lost
/// before their rename), snapshot corruption and rebalances; it drives the same `LiveEngine` the
/// Kafka runner uses against a simulated log, and checks that the outputs on the log are exactly
/// a clean replay's: none lost, none doubled, byte for byte.
public enum Simulation {
    struct Instance {
        let id: Int
        var engine: LiveEngine
        var positions: [TopicPartition: Int64] = [:]
        var owned: Set<Int32> = []
        var eofSent: Set<TopicPartition> = []
        /// Produced, not yet delivered.
        var pending: [(TopicPartition, [UInt8])] = []
    }

    public static func run(seed: UInt64) -> SimulationReport {
        var world = World(seed: seed)
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

    struct World {
        var rng: SplitMix64
        var report: SimulationReport
        var log: SimulatedLog
        var store = SimulatedSnapshotStore()
        var instances: [Instance] = []
        var nextId = 0
        /// Membership changed: partitions must be re-spread before the next action.
        var needsRebalance = false
        let maxInstances: Int
        let lines: [String]
        let topics = TopicNames()
        let traceEnabled = ProcessInfo.processInfo.environment["REKINDLE_SIM_TRACE"] != nil
        let logger: Logger = {
            var l = Logger(label: "rekindle.simulation")
            l.logLevel = .critical
            return l
        }()

        init(seed: UInt64) {
            rng = SplitMix64(seed: seed)
            report = SimulationReport(seed: seed)
            var o = GeneratorOptions()
            o.seed = seed
            o.customers = 15 + rng.below(60)
            o.days = 15 + rng.below(45)
            o.products = 40
            o.badFraction = 0.02
            var lines: [String] = []
            SyntheticStream.generate(o) { lines.append($0) }
            self.lines = lines
            let partitions = 1 + rng.below(3)
            maxInstances = 1 + rng.below(3)
            log = SimulatedLog(lines: lines, partitions: partitions, rng: &rng)
            report.partitions = partitions
            report.events = lines.count
        }

        func makeEngine() -> LiveEngine {
            var e = LiveEngine(rules: .defaults, topics: topics, allowedLatenessMs: 0, metrics: nil, logger: logger)
            let p = log.partitions
            e.outputPartitions = [(topics.triggers, .trigger, p), (topics.conversions, .conversion, p), (topics.deadLetters, .deadLetter, p)]
            return e
        }

        func inputs(of k: Int32) -> [TopicPartition] { topics.inputs.map { TopicPartition($0, k) } }

        var allConsumed: Bool {
            log.inputs.keys.allSatisfy { tp in
                instances.contains { $0.owned.contains(tp.partition) && $0.positions[tp] == log.end(tp) }
            }
        }

        mutating func run() -> SimulationReport {
            addInstance()
            while report.steps < 50_000 {
                report.steps += 1
                while needsRebalance {
                    needsRebalance = false
                    rebalance()
                }
                if allConsumed && instances.count == 1 && instances[0].pending.isEmpty {
                    // The end: one instance owns everything; let it go idle (every task advances
                    // to the last event's time, as replay does) and deliver.
                    deliver(0)  // sends any end-of-partition still owed
                    flush(0)
                    if instances[0].engine.tasksAreIdle {
                        step(0, events: [])
                        flush(0)
                        check()
                        return report
                    }
                    continue
                }
                if allConsumed && instances.count > 1 {
                    leave(instances.indices.last!)  // finish on one instance
                    continue
                }
                let roll = rng.below(100)
                let i = rng.below(instances.count)
                switch roll {
                case 0..<50: deliver(i)
                case 50..<63: flush(i)
                case 63..<73: flush(i); snapshot(i, of: nil)
                case 73..<77: crash(i)
                case 77..<79:
                    if let what = store.corrupt(&rng) {
                        report.corruptions += 1
                        _ = what
                    }
                case 79..<83: if instances.count < maxInstances { addInstance() }
                case 83..<86: if instances.count > 1 { leave(i) }
                default: step(i, events: [])
                }
            }
            report.failure = "did not finish in \(report.steps) steps"
            return report
        }

        // MARK: Actions

        func trace(_ s: @autoclosure () -> String) {
            if traceEnabled { print("  [\(report.steps)] \(s())") }
        }

        mutating func step(_ i: Int, events: [ConsumerEvent]) {
            let watermarks = instances[i].engine.watermarks.map { "\($0.partition): \($0.watermark == .min ? "-" : Timestamp.format($0.watermark))" }
            trace("instance \(instances[i].id) step: \(events.count) events, watermarks \(watermarks)")
            var out: [LiveEngine.TaskOutput] = []
            var dead: [LiveEngine.DeadLetterOut] = []
            let log = self.log
            _ = instances[i].engine.step(events, out: &out, dead: &dead) { log.read($0) }
            for (_, o) in out {
                switch o {
                case .trigger(let t):
                    instances[i].pending.append((log.outputPartition(topics.triggers, key: Array(t.customerId.utf8)), t.json))
                case .conversion(let c):
                    instances[i].pending.append((log.outputPartition(topics.conversions, key: Array(c.customerId.utf8)), c.json))
                case .withheld(let t):
                    instances[i].pending.append((log.outputPartition(topics.withheld, key: Array(t.customerId.utf8)), t.json))
                }
            }
            for d in dead { instances[i].pending.append((log.outputPartition(topics.deadLetters, key: d.key), d.letter.json)) }
        }

        /// A batch of random size, interleaving the instance's partitions at random, each in order.
        mutating func deliver(_ i: Int) {
            var events: [ConsumerEvent] = []
            let owned = instances[i].owned.sorted().flatMap { inputs(of: $0) }
            for _ in 0..<(1 + rng.below(40)) {
                let open = owned.filter { (instances[i].positions[$0] ?? 0) < log.end($0) }
                guard !open.isEmpty else { break }
                let tp = open[rng.below(open.count)]
                let at = instances[i].positions[tp]!
                events.append(.message(log.inputs[tp]![Int(at)]))
                instances[i].positions[tp] = at + 1
            }
            for tp in owned where instances[i].positions[tp] == log.end(tp) && !instances[i].eofSent.contains(tp) {
                events.append(.endOfPartition(tp, offset: log.end(tp)))
                instances[i].eofSent.insert(tp)
            }
            step(i, events: events)
        }

        mutating func flush(_ i: Int) {
            trace("flush instance \(instances[i].id): \(instances[i].pending.count) outputs; log triggers \(log.outputs.filter { $0.key.topic == "campaign-triggers" }.map { $0.value.count })")
            for (tp, value) in instances[i].pending { log.outputs[tp]!.append(value) }
            instances[i].pending.removeAll()
        }

        /// Snapshots after a flush (as the runner does). A write may be lost to a crash before
        /// its rename, and then the instance is gone.
        mutating func snapshot(_ i: Int, of partitions: Set<Int32>?) {
            precondition(instances[i].pending.isEmpty)
            let snaps = instances[i].engine.snapshots(of: partitions, outputOffsets: log.outputEnds)
            trace("snapshot instance \(instances[i].id): \(snaps.map { "task \($0.partition) seq \($0.sequence) in \($0.inputOffsets.map(\.offset)) out \($0.outputOffsets.filter { $0.topic == "campaign-triggers" }.map(\.offset))" })")
            for s in snaps {
                if rng.below(100) < 3 {
                    report.lostSnapshotWrites += 1
                    crash(i)
                    return
                }
                store.save(s)
                report.snapshots += 1
            }
        }

        /// The process dies: unflushed outputs land as a random prefix per partition.
        mutating func crash(_ i: Int) {
            report.crashes += 1
            trace("CRASH instance \(instances[i].id) with \(instances[i].pending.count) pending")
            var byPartition: [TopicPartition: [[UInt8]]] = [:]
            for (tp, v) in instances[i].pending { byPartition[tp, default: []].append(v) }
            for tp in byPartition.keys.sorted(by: { ($0.topic, $0.partition) < ($1.topic, $1.partition) }) {
                let values = byPartition[tp]!
                log.outputs[tp]!.append(contentsOf: values.prefix(rng.below(values.count + 1)))
            }
            instances.remove(at: i)
            if instances.isEmpty || rng.below(2) == 0 { addInstance() }
            needsRebalance = true
        }

        mutating func addInstance() {
            instances.append(Instance(id: nextId, engine: makeEngine()))
            nextId += 1
            needsRebalance = true
        }

        /// A graceful leave: its partitions are revoked (flushed and snapshotted) first.
        mutating func leave(_ i: Int) {
            let id = instances[i].id
            revoke(i, instances[i].owned)
            instances.removeAll { $0.id == id }
            if instances.isEmpty { addInstance() }
            needsRebalance = true
        }

        mutating func revoke(_ i: Int, _ partitions: Set<Int32>) {
            guard !partitions.isEmpty else { return }
            flush(i)
            let id = instances[i].id
            snapshot(i, of: partitions)
            guard let j = instances.firstIndex(where: { $0.id == id }) else { return }  // crashed while snapshotting
            instances[j].engine.release(partitions.sorted().flatMap { inputs(of: $0) })
            instances[j].owned.subtract(partitions)
            for k in partitions {
                for tp in inputs(of: k) {
                    instances[j].positions[tp] = nil
                    instances[j].eofSent.remove(tp)
                }
            }
        }

        /// Partition k goes to the (k mod n)-th live instance by id, as a range assignor spreads them.
        /// A crash during it (a lost snapshot write) sets `needsRebalance` and ends it early: the
        /// caller starts over with the new membership, so no partition ever has two owners.
        mutating func rebalance() {
            guard !instances.isEmpty else { return }
            report.rebalances += 1
            let ids = instances.map(\.id).sorted()
            func owner(_ k: Int32) -> Int { ids[Int(k) % ids.count] }
            for id in ids {
                guard let i = instances.firstIndex(where: { $0.id == id }) else { continue }
                let lose = instances[i].owned.filter { owner($0) != id }
                revoke(i, Set(lose))
                if needsRebalance { return }
            }
            for i in instances.indices {
                let gain = (0..<Int32(log.partitions)).filter { owner($0) == instances[i].id && !instances[i].owned.contains($0) }
                guard !gain.isEmpty else { continue }
                var tps: [TopicPartition] = []
                for k in gain {
                    let offsets = instances[i].engine.restore(k, from: store.candidates(k))
                    trace("instance \(instances[i].id) gains task \(k) from \(offsets.map(\.offset)) (candidates \(store.candidates(k).count))")
                    for tp in inputs(of: k) {
                        instances[i].positions[tp] = offsets.first { $0.topic == tp.topic && $0.partition == tp.partition }?.offset ?? 0
                        tps.append(tp)
                    }
                    instances[i].owned.insert(k)
                }
                step(i, events: [.assigned(tps)])
            }
        }

        // MARK: The invariant

        mutating func check() {
            // The oracle: a clean replay, ties in the order the live merge uses (topic, then offset).
            var ordered: [(Topic, TopicPartition, ConsumedMessage)] = []
            for (tp, messages) in log.inputs {
                let topic = topics.input(named: tp.topic)!
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
            replay.partitions = log.partitions
            let expected = replay.run(events: events, deadLetters: [])
            let want = expected.triggers.map { String(decoding: $0.json, as: UTF8.self) }.sorted()
            let got = topicLines(topics.triggers)
            report.triggers = got.count
            if let problem = Simulation.difference(got, want, "triggers") { report.failure = problem; return }
            let wantConversions = expected.conversions.map { String(decoding: $0.json, as: UTF8.self) }.sorted()
            if let problem = Simulation.difference(topicLines(topics.conversions), wantConversions, "conversions") {
                report.failure = problem
                return
            }
            var seen: [String] = []
            for line in topicLines(topics.deadLetters) {
                guard let v = try? JSONParser.parse(line), case .string(let t)? = v["source"]?["topic"],
                    case .number(let p)? = v["source"]?["partition"], case .number(let o)? = v["source"]?["offset"]
                else { report.failure = "unreadable dead letter \(line)"; return }
                seen.append("\(t)|\(Int(p))|\(Int(o))")
            }
            if let problem = Simulation.difference(seen.sorted(), bad.sorted(), "dead letters") { report.failure = problem }
        }

        func topicLines(_ topic: String) -> [String] {
            log.outputs.filter { $0.key.topic == topic }.flatMap { $0.value }.map { String(decoding: $0, as: UTF8.self) }.sorted()
        }
    }
}


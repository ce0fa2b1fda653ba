import DequeModule
import Foundation
import RekindleCore

/// `rekindle replay` of one task over input already in `occurred_at` order, as a three-stage
/// pipeline over the machine's cores: a thread reads and parses the files, the calling thread
/// folds, and a thread turns outputs into JSON and writes them. Nothing is held beyond a few
/// batches in flight, so memory is the task's state, not the history.
///
/// The bytes written are those of `Replay.run` with one partition (a test compares them): events
/// are folded in the order of its stable sort by `occurred_at`. A small reorder buffer puts
/// nearly sorted input (a topic dump with re-deliveries) in that order as it streams; an event
/// older than one already folded needs the whole-input sort, so the pipeline stops and says so,
/// and the caller replays with `Replay` (rewriting the files).
public struct StreamingReplay {
    public var rules: RuleSet
    public var until: Millis?
    public var allowedLatenessMs: Millis = 0
    /// Lines per parsed batch, and batches in flight between two stages.
    public var batchLines = 2048
    public var depth = 8
    /// Events wait this long (in event time behind the newest seen) or until this many wait, to
    /// be put in order: a re-delivered line an hour late is sorted here, with no whole-input sort.
    public var reorderWindowMs: Millis = 6 * millisPerHour
    public var maxPending = 500_000
    /// Inputs that are pipes (standard input, a FIFO), by path: read from the open `input` and
    /// copied to `copy` as they stream, so that input found unsorted can be read again (see
    /// `ReplayJob`): a pipe cannot be rewound or opened again from its start.
    var pipes: [String: PipeCopy] = [:]
    /// What each event is checked for beyond its form (`occurred_at` ahead of the replay's start).
    public var checks = InputChecks()

    public init(rules: RuleSet) { self.rules = rules }

    /// The reading stage with this replay's settings.
    var readerStage: OrderedEventReader {
        OrderedEventReader(
            batchLines: batchLines, reorderWindowMs: reorderWindowMs, maxPending: maxPending, pipes: pipes, checks: checks)
    }

    public enum Outcome {
        case done(BacktestReport)
        /// The input is not in `occurred_at` order: nothing written is valid.
        case unsorted
    }

    public struct Sinks {
        public var triggers: LineWriter
        public var conversions: LineWriter
        public var deadLetters: LineWriter
        /// Withheld touches (spec 7.1); none are written without one (a rule set without
        /// experiments withholds nothing).
        public var withheld: LineWriter?
        public init(triggers: LineWriter, conversions: LineWriter, deadLetters: LineWriter, withheld: LineWriter? = nil) {
            self.triggers = triggers
            self.conversions = conversions
            self.deadLetters = deadLetters
            self.withheld = withheld
        }
    }

    /// `afterFold` sees the task once every event is folded (a benchmark measures its state).
    public func run(
        paths: [String], into sinks: Sinks, progress: Progress? = nil, afterFold: ((CampaignTask) -> Void)? = nil
    ) throws -> Outcome {
        let parsed = Channel<OrderedEventReader.Batch>(capacity: depth)
        let outputs = Channel<Folded>(capacity: depth)

        // Stage 1: read, parse and put in order. Dead letters go in line order.
        let unsorted = Box(false)
        let stage = readerStage
        let reader = StageThread {
            // However this stage ends (done, unsorted, a read error), the fold must not wait on.
            defer { parsed.close() }
            unsorted.value = try !stage.read(paths: paths, progress: progress) { parsed.put($0) }
        }

        // Stage 3: JSON and writes, with the report's per-rule counts (read after `join`).
        let counter = Box(BacktestReport.Counter(rules: rules))
        let writer = StageThread {
            while let batch = outputs.take() {
                var erasures = batch.erasures.makeIterator()
                var erasure = erasures.next()
                for (k, o) in batch.outputs.enumerated() {
                    while let e = erasure, e.at == k {
                        counter.value.erased(customer: e.customer, id: e.id)
                        erasure = erasures.next()
                    }
                    switch o {
                    case .trigger(let t): sinks.triggers.write { t.appendJSON(to: &$0) }
                    case .conversion(let c): sinks.conversions.write { c.appendJSON(to: &$0) }
                    case .withheld(let t): sinks.withheld?.write { t.appendJSON(to: &$0) }
                    }
                    counter.value.count(o, customer: batch.customers[k] < 0 ? nil : Int(batch.customers[k]), rule: Int(batch.rules[k]))
                }
                while let e = erasure {
                    counter.value.erased(customer: e.customer, id: e.id)
                    erasure = erasures.next()
                }
            }
        }

        // Stage 2, here: the fold.
        var task = CampaignTask(rules: rules, allowedLatenessMs: allowedLatenessMs)
        task.journalsOrigins = true
        var last = Millis.min
        var events = 0, folded = 0, afterUntil = 0, bad = 0
        var out = Folded()
        var origins: [CampaignTask.OutputOrigin] = []
        // Events the fold refused: dead letters after those of the reading, as `Replay` has them.
        var refused: [DeadLetter] = []
        while let batch = parsed.take() {
            for d in batch.deadLetters { sinks.deadLetters.write(line: d.json) }
            bad += batch.deadLetters.count
            for e in batch.events {
                last = e.event.occurredAt
                events += 1
                if let until, e.event.occurredAt > until {
                    afterUntil += 1
                    continue
                }
                let start = out.outputs.count
                let (taken, erased) = task.foldNotingErasure(e, into: &out.outputs, refused: &refused)
                if taken { folded += 1 }
                out.number(from: start, in: &task, origins: &origins, erasing: erased.map { ($0, e.event.customerId) })
            }
            if !out.outputs.isEmpty || !out.erasures.isEmpty {
                _ = outputs.put(out)
                out = Folded()
            }
        }
        try reader.join()
        if unsorted.value {
            outputs.close()
            try writer.join()
            return .unsorted
        }
        let end = until ?? (events > 0 ? last : Millis.min)
        if end != Millis.min {
            let start = out.outputs.count
            task.advance(to: end, into: &out.outputs)
            out.number(from: start, in: &task, origins: &origins, erasing: nil)
        }
        afterFold?(task)
        for d in refused { sinks.deadLetters.write(line: d.json) }
        _ = outputs.put(out)
        outputs.close()
        try writer.join()
        progress?.finish()
        counter.value.countEvents(folded: folded, afterUntil: afterUntil)
        counter.value.countBadInputs(bad + refused.count)
        return .done(counter.value.report(tasks: [task.stats], watermark: end, lift: [task.lift]))
    }
}

/// Outputs of the streaming replay's fold with what its counter keys customers by: each
/// trigger's customer number in the task (-1 for other outputs), and the customers erased, each
/// before the output at `at` (so the counter moves their marks in the order the fold did).
struct Folded: Sendable {
    var outputs: [Output] = []
    var customers: [Int32] = []
    var rules: [Int32] = []
    var erasures: [(at: Int, customer: Int, id: String)] = []

    /// Numbers the outputs from `start` on, folded by `task`, by what it journalled beside them
    /// (`CampaignTask.origins`: finding each trigger's customer by id again was a probe of the
    /// customer index per trigger on the fold's thread); `erasing`: the customer that fold erased
    /// (no longer found by id), with its id.
    /// `origins`: storage to take the task's journal into, kept by the caller from call to call.
    mutating func number(
        from start: Int, in task: inout CampaignTask, origins: inout [CampaignTask.OutputOrigin],
        erasing: (customer: Int, id: String)?
    ) {
        task.takeOrigins(count: outputs.count - start, into: &origins)
        for (o, origin) in zip(outputs[start...], origins) {
            if case .trigger = o { customers.append(origin.customer) } else { customers.append(-1) }
            rules.append(origin.rule)
        }
        if let erasing { erasures.append((outputs.count, erasing.customer, erasing.id)) }
    }
}

/// A bounded hand-off between two threads: `put` waits while full, `take` while empty. Closing
/// ends `take` once drained and makes `put` refuse, so either side can stop the other.
final class Channel<T>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items = Deque<T>()
    private let capacity: Int
    private var closed = false

    init(capacity: Int) { self.capacity = capacity }

    /// False when the channel was closed (the consumer stopped): the producer should stop too.
    func put(_ item: T) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !closed { condition.wait() }
        guard !closed else { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    func take() -> T? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !closed { condition.wait() }
        guard let item = items.popFirst() else { return nil }
        condition.broadcast()
        return item
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// A value one stage fills and another reads after `join` (which orders the two).
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

/// A thread running one pipeline stage; `join` waits for it and rethrows what it threw.
/// The stage's state is reached only through its closure and `Channel`s, and read by others only
/// after `join`: that is why the unchecked Sendable below is sound.
final class StageThread: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var failure: Error?

    init(_ body: @escaping () throws -> Void) {
        let work = Box(body)
        let thread = Thread { [self] in
            do { try work.value() } catch { failure = error }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    func join() throws {
        done.wait()
        if let failure { throw failure }
    }
}

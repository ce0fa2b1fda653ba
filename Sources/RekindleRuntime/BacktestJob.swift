import Foundation
import RekindleCore

/// `rekindle backtest` as a whole (spec 7.4): the history is read and decoded once and handed, in
/// `occurred_at` order, to the fold of each rule set (the current one and, with `--compare`, the
/// candidate) and to the purchase history, each on its own thread; then each rule set's touches
/// are attributed and the whole-history analytics are computed, and the reports are written,
/// each renamed into place only when the whole run succeeded.
///
/// `until` is the churn model's calibration boundary, not the end of the fold: the rules fold over
/// the whole history (what a marketer back-testing rules expects), and the churn section checks
/// the model's predictions from `until` against the purchases after it. Without `until`, a rule
/// set's model's `fitted_until` is the boundary; with `until` and no model in either rule set, a
/// model is fitted on the purchases up to `until`.
public struct BacktestJob {
    public var inputs: [String]
    public var rulesPath: String?
    public var comparePath: String?
    /// Report files, `.html` or `.json` by extension.
    public var reports: [String]
    public var partitions = 1
    public var partitioner = Partitioner.murmur2
    public var until: Millis?
    public var progress: Progress?
    public var checks = InputChecks()
    /// Read the history from the input topics instead of `inputs` (`--bootstrap`): task `k` is
    /// partition `k`, as in `replay --bootstrap`.
    public var topicSource: TopicHistory.Source?

    public init(inputs: [String], reports: [String]) {
        self.inputs = inputs
        self.reports = reports
    }

    public enum Format: Sendable {
        case html, json

        public init?(path: String) {
            switch URL(fileURLWithPath: path).pathExtension.lowercased() {
            case "html", "htm": self = .html
            case "json": self = .json
            default: return nil
            }
        }
    }

    /// Refuses, before anything is read or written, what `rekindle replay` refuses (see
    /// `JobPaths.check`), a report that is neither `.html` nor `.json`, and no report at all.
    public func check() throws(PathError) {
        guard !reports.isEmpty else { throw PathError(flag: "--report", path: "", problem: "is missing: name an .html or .json file") }
        for path in reports where Format(path: path) == nil {
            throw PathError(flag: "--report", path: path, problem: "must end in .html or .json (the report's format)")
        }
        var ruleFiles: [(flag: String, path: String)] = []
        if let rulesPath { ruleFiles.append(("--rules", rulesPath)) }
        if let comparePath { ruleFiles.append(("--compare", comparePath)) }
        try JobPaths.check(inputs: inputs, ruleFiles: ruleFiles, outputs: reports.map { ("--report", $0, $0) })
    }

    public func run() throws -> BacktestAnalysis {
        try check()
        var ruleSets = [try RuleFile.load(path: rulesPath)]
        if let comparePath { ruleSets.append(try RuleFile.load(path: comparePath)) }
        var checks = self.checks
        if checks.reference == nil { checks.reference = Millis((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
        if let topicSource {
            let ordered = try TopicHistory.read(topicSource, progress: progress).ordered(maxFutureSkewMs: checks.maxFutureSkewMs)
            let (events, partitioner) = try ordered.backtestStream()
            var job = self
            (job.partitions, job.partitioner) = (ordered.tasks.count, partitioner)
            let bad = ordered.bad
            let analysis = try job.analyse(ruleSets) { send in Self.sendAll(events, deadLetters: bad, send) }
            return try publish(analysis!)
        }
        var pipes: [String: PipeCopy] = [:]
        for path in inputs where InputFile.isPipe(path) { pipes[path] = try PipeCopy(path, beside: reports[0]) }

        // Streamed in order; input found too far out of order is read again whole and sorted.
        let stream = OrderedEventReader(pipes: pipes, checks: checks)
        let inputs = self.inputs, progress = self.progress, readChecks = checks, pipeCopies = pipes
        var pass = try analyse(ruleSets) { send in try stream.read(paths: inputs, progress: progress, send: send) }
        if pass == nil {
            pass = try analyse(ruleSets) { send in
                var reader = EventFileReader(progress: progress, checks: readChecks)
                for path in inputs {
                    if let pipe = pipeCopies[path] { try pipe.readAgain(into: &reader) } else { try reader.read(path: path) }
                }
                let events = reader.events.sorted { a, b in
                    a.event.occurredAt != b.event.occurredAt ? a.event.occurredAt < b.event.occurredAt : a.sequence < b.sequence
                }
                return Self.sendAll(events, deadLetters: reader.deadLetters, send)
            }
        }
        guard let analysis = pass else { preconditionFailure("a sorted pass cannot be unsorted") }
        return try publish(analysis)
    }

    /// Sends a whole history already in order as the reading stage would: its dead letters, then its
    /// events in batches (until `send` refuses). True: it was sent in order.
    static func sendAll(_ events: [SourcedEvent], deadLetters: [DeadLetter], _ send: (OrderedEventReader.Batch) -> Bool) -> Bool {
        guard send(OrderedEventReader.Batch(deadLetters: deadLetters)) else { return true }
        for start in stride(from: 0, to: events.count, by: 2048) {
            guard send(OrderedEventReader.Batch(events: Array(events[start..<min(start + 2048, events.count)]))) else { break }
        }
        return true
    }

    /// Writes the reports, each renamed into place only when all are whole.
    func publish(_ analysis: BacktestAnalysis) throws -> BacktestAnalysis {
        progress?.finish()
        var files: [OutputFile] = []
        defer { for f in files { f.discard() } }
        for path in reports {
            let file = try OutputFile(path: path)
            files.append(file)
            switch Format(path: path)! {
            case .json: file.writer.write(line: analysis.json)
            case .html: file.writer.write { $0.append(contentsOf: BacktestHTML.page(analysis).utf8) }
            }
        }
        for f in files { try f.seal() }
        for f in files { try f.publish() }
        return analysis
    }

    /// One pass over the history and its report: `produce` sends batches in order (returning false
    /// when it found the input unsorted, true when it sent everything); each rule set folds them on
    /// a thread of its own and, once the purchase history is complete, attributes its touches
    /// there, while this thread keeps the purchase history and then computes the whole-history
    /// analytics. Nil when the input was unsorted.
    func analyse(
        _ ruleSets: [RuleSet], produce: @escaping @Sendable (_ send: (OrderedEventReader.Batch) -> Bool) throws -> Bool
    ) throws -> BacktestAnalysis? {
        let channels = (0...ruleSets.count).map { _ in Channel<OrderedEventReader.Batch>(capacity: 8) }
        // False until everything was sent in order: a failed or unsorted read analyses nothing.
        let sorted = Box(false)
        let reader = StageThread {
            defer { for c in channels { c.close() } }
            sorted.value = try produce { batch in channels.allSatisfy { $0.put(batch) } }
        }
        // The purchase history and the bad lines, set by this thread before `complete` is signalled.
        let complete = DispatchSemaphore(value: 0)
        let read = Box<(history: PurchaseHistory, badLines: Int)?>(nil)
        let (partitions, partitioner) = (self.partitions, self.partitioner)
        let folds = ruleSets.enumerated().map { k, rules in
            let side = Box<BacktestAnalysis.Side?>(nil)
            return (side, StageThread {
                var fold = RuleSetFold(rules: rules, partitions: partitions, partitioner: partitioner)
                while let batch = channels[k].take() { fold.fold(batch.events) }
                complete.wait()
                guard sorted.value, let (history, badLines) = read.value else { return }
                let report = fold.finish(at: history.last ?? Millis.min, badLines: badLines)
                let attribution = Attribution(fold.touches, purchases: history.purchases, ruleCount: rules.rules.count)
                let months30 = BacktestAnalysis.months30(from: history.first ?? 0, to: history.last ?? 0)
                side.value = BacktestAnalysis.Side(
                    rules: rules, report: report, touches: fold.touches, attribution: attribution, months30: months30,
                    capped: fold.capped)
            })
        }
        var history = PurchaseHistory()
        var badLines = 0
        while let batch = channels[ruleSets.count].take() {
            badLines += batch.deadLetters.count
            for e in batch.events { history.add(e.event) }
        }
        read.value = (history, badLines)
        for _ in ruleSets { complete.signal() }
        // The channels are closed: the reader has ended, and `sorted` says how.
        try reader.join()
        guard sorted.value else {
            for (_, thread) in folds { try thread.join() }
            return nil
        }
        progress?.update("attributing and analysing")
        let from = history.first ?? 0, to = history.last ?? 0
        let cohorts = Cohorts(history, from: from, to: to)
        let (checks, note, boundary) = Self.churn(ruleSets, history: history, from: from, to: to, until: until)
        for (_, thread) in folds { try thread.join() }
        let sides = folds.map { $0.0.value! }
        return BacktestAnalysis(
            current: sides[0], candidate: sides.count > 1 ? sides[1] : nil, history: history, cohorts: cohorts, churn: checks,
            churnNote: note, until: boundary, badInputs: sides[0].report.badInputs, partitions: partitions)
    }

    /// The churn sections: one per rule set with a model; with none, one fitted at `until` when it
    /// is given. The boundary is `until`, else the first model's `fitted_until`.
    static func churn(_ ruleSets: [RuleSet], history: PurchaseHistory, from: Millis, to: Millis, until: Millis?)
        -> (checks: [ChurnCheck], note: String?, boundary: Millis?)
    {
        let sources: [ChurnCheck.Source] = [.current, .candidate]
        var checks: [ChurnCheck] = []
        for (k, rules) in ruleSets.enumerated() {
            guard let m = ChurnCheck.model(of: rules) else { continue }
            checks.append(ChurnCheck(source: sources[k], model: m.model, horizonDays: m.horizonDays, fittedUntil: m.fittedUntil, logLikelihood: m.logLikelihood))
        }
        let boundary = until ?? checks.lazy.compactMap(\.fittedUntil).first
        guard !checks.isEmpty || until != nil else { return ([], nil, boundary) }
        let buyers = ChurnCheck.Buyers(history)
        var note: String?
        if checks.isEmpty, let until {
            do {
                checks.append(try ChurnCheck.fitted(buyers, boundary: until))
            } catch {
                note = "no churn model in the rule sets, and none could be fitted at --until \(Timestamp.format(until)): \(error)"
            }
        }
        for k in checks.indices where history.events > 0 { checks[k].measure(buyers, from: from, to: to, boundary: boundary) }
        return (checks, note, boundary)
    }
}

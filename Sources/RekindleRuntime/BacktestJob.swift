import Foundation
import RekindleCore
import Synchronization

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
        var pipes: [String: PipeCopy] = [:]
        for path in inputs where InputFile.isPipe(path) { pipes[path] = try PipeCopy(path, beside: reports[0]) }

        // Streamed in order; input found too far out of order is read again whole and sorted.
        let stream = OrderedEventReader(pipes: pipes, checks: checks)
        let inputs = self.inputs, progress = self.progress, readChecks = checks, pipeCopies = pipes
        var pass = try fold(ruleSets) { send in try stream.read(paths: inputs, progress: progress, send: send) }
        if pass == nil {
            pass = try fold(ruleSets) { send in
                var reader = EventFileReader(progress: progress, checks: readChecks)
                for path in inputs {
                    if let pipe = pipeCopies[path] { try pipe.readAgain(into: &reader) } else { try reader.read(path: path) }
                }
                let events = reader.events.sorted { a, b in
                    a.event.occurredAt != b.event.occurredAt ? a.event.occurredAt < b.event.occurredAt : a.sequence < b.sequence
                }
                guard send(OrderedEventReader.Batch(deadLetters: reader.deadLetters)) else { return true }
                for start in stride(from: 0, to: events.count, by: 2048) {
                    guard send(OrderedEventReader.Batch(events: Array(events[start..<min(start + 2048, events.count)]))) else { break }
                }
                return true
            }
        }
        guard let (done, history, badLines) = pass else { preconditionFailure("a sorted pass cannot be unsorted") }
        var folds = done
        progress?.update("attributing and analysing")
        let analysis = analyse(&folds, history: history, badLines: badLines)
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

    /// One pass over the history: `produce` sends batches in order (returning false when it found
    /// the input unsorted), each rule set folds them on a thread of its own and the purchase
    /// history is kept on this one. Nil when the input was unsorted.
    func fold(
        _ ruleSets: [RuleSet], produce: @escaping @Sendable (_ send: (OrderedEventReader.Batch) -> Bool) throws -> Bool
    ) throws -> (folds: [RuleSetFold], history: PurchaseHistory, badLines: Int)? {
        let channels = (0...ruleSets.count).map { _ in Channel<OrderedEventReader.Batch>(capacity: 8) }
        let sorted = Box(true)
        let reader = StageThread {
            defer { for c in channels { c.close() } }
            sorted.value = try produce { batch in channels.allSatisfy { $0.put(batch) } }
        }
        let (partitions, partitioner) = (self.partitions, self.partitioner)
        let folds = ruleSets.enumerated().map { k, rules in
            let fold = Box(RuleSetFold(rules: rules, partitions: partitions, partitioner: partitioner))
            return (fold, StageThread {
                while let batch = channels[k].take() { fold.value.fold(batch.events) }
            })
        }
        var history = PurchaseHistory()
        var badLines = 0
        while let batch = channels[ruleSets.count].take() {
            badLines += batch.deadLetters.count
            for e in batch.events { history.add(e.event) }
        }
        try reader.join()
        for (_, thread) in folds { try thread.join() }
        guard sorted.value else { return nil }
        return (folds.map(\.0.value), history, badLines)
    }

    /// The report of a pass: each rule set's touches attributed (at once, one per core) while the
    /// whole-history analytics are computed.
    func analyse(_ folds: inout [RuleSetFold], history: PurchaseHistory, badLines: Int) -> BacktestAnalysis {
        let end = history.last ?? Millis.min
        let reports = folds.indices.map { folds[$0].finish(at: end, badLines: badLines) }
        let from = history.first ?? 0, to = history.last ?? 0
        let months30 = BacktestAnalysis.months30(from: from, to: to)
        let done = folds
        let sides = Mutex([BacktestAnalysis.Side?](repeating: nil, count: done.count))
        let analytics = Mutex<(Cohorts, [ChurnCheck], String?, Millis?)?>(nil)
        let until = self.until
        DispatchQueue.concurrentPerform(iterations: done.count + 1) { k in
            if k < done.count {
                let attribution = Attribution(done[k].touches, purchases: history.purchases, ruleCount: done[k].rules.rules.count)
                let side = BacktestAnalysis.Side(
                    rules: done[k].rules, report: reports[k], touches: done[k].touches, attribution: attribution, months30: months30)
                sides.withLock { $0[k] = side }
            } else {
                let cohorts = Cohorts(history, from: from, to: to)
                let (checks, note, boundary) = Self.churn(done.map(\.rules), history: history, from: from, to: to, until: until)
                analytics.withLock { $0 = (cohorts, checks, note, boundary) }
            }
        }
        let made = sides.withLock { $0.map { $0! } }
        let (cohorts, churn, note, boundary) = analytics.withLock { $0! }
        return BacktestAnalysis(
            current: made[0], candidate: made.count > 1 ? made[1] : nil, history: history, cohorts: cohorts, churn: churn,
            churnNote: note, until: boundary, badInputs: reports[0].badInputs, partitions: partitions)
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

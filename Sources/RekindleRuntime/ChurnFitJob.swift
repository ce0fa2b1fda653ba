import Foundation
import RekindleCore

/// `rekindle churn fit` as a whole (spec 3.9): reads event files exactly as `rekindle replay`
/// does (bad lines become the same dead letters), folds them with the campaign task up to
/// `until` so that a purchase is exactly what the fold counts (spec 3.8), fits the BG/NBD model
/// to the customers' summaries at `until`, and writes the rule-file overlay, the dead letters and
/// optionally each customer's scores. Every output is renamed into place only when the whole
/// run succeeded; a refused fit writes nothing.
public struct ChurnFitJob {
    public var inputs: [String]
    public var until: Millis
    /// The rule-file overlay (YAML).
    public var output: String
    public var scores: String?
    public var deadLetters: String?
    public var horizonDays = 90.0
    public var checks = InputChecks()
    public var progress: Progress?

    public init(inputs: [String], until: Millis, output: String) {
        self.inputs = inputs
        self.until = until
        self.output = output
    }

    public var deadLettersPath: String { deadLetters ?? sibling("dead-letters.jsonl") }

    /// `<stem>.<suffix>` beside `output`, as `rekindle replay` names its defaults.
    func sibling(_ suffix: String) -> String { JobPaths.sibling(of: output, suffix) }

    public struct Result: Sendable {
        public var fit: ChurnFit
        public var repeatCustomers: Int
        public var deadLetters: Int
        /// Events read with `occurred_at` after `until`: not folded.
        public var afterUntil: Int
    }

    /// Refuses, before anything is read or written, what `rekindle replay` refuses: an input that
    /// is not a file or a pipe, standard input named twice, an output that is a directory or an
    /// input, two outputs naming one file.
    public func check() throws(PathError) {
        var outputs = [("--output", output, output)]
        if let scores { outputs.append(("--scores", scores, scores)) }
        outputs.append(("--dead-letters", deadLettersPath, deadLetters ?? "\(deadLettersPath) (the default, beside --output)"))
        try JobPaths.check(inputs: inputs, outputs: outputs)
    }

    /// Fits and writes; throws `ChurnFitError` when the data cannot be fitted (nothing written).
    public func run() throws -> Result {
        try check()
        var checks = self.checks
        if checks.reference == nil { checks.reference = Millis((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
        var reader = EventFileReader(progress: progress, checks: checks)
        for path in inputs { try reader.read(path: path) }
        let folded = Self.fold(reader.events, until: until)
        progress?.finish()
        let data = WeightedSummaries(folded.summaries.map(\.summary))
        let fit = try BGNBDFit.fit(data)

        var files: [OutputFile] = []
        defer { for f in files { f.discard() } }
        let model = try OutputFile(path: output)
        files.append(model)
        model.writer.write { $0.append(contentsOf: Self.overlay(fit, until: until).utf8.dropLast()) }
        if let scores {
            let file = try OutputFile(path: scores)
            files.append(file)
            let h = ChurnModel.horizonWeeks(days: horizonDays)
            for (id, s) in folded.summaries {
                file.writer.write { Self.appendScore(id, s, fit.model.score(s, horizonWeeks: h), to: &$0) }
            }
        }
        let dead = try OutputFile(path: deadLettersPath)
        files.append(dead)
        let deadLetters = reader.deadLetters + folded.refused
        for d in deadLetters { dead.writer.write(line: d.json) }
        for f in files { try f.seal() }
        for f in files { try f.publish() }
        return Result(fit: fit, repeatCustomers: data.repeatCustomers, deadLetters: deadLetters.count, afterUntil: folded.afterUntil)
    }

    /// Folds the events up to `until` in `occurred_at` order (ties in input order), as a replay
    /// does, and summarises each customer with a purchase at `until`, in the order the customers
    /// were first seen. Orders the fold refuses come back as their dead letters.
    public static func fold(_ input: [SourcedEvent], until: Millis)
        -> (summaries: [(id: String, summary: ChurnSummary)], refused: [DeadLetter], afterUntil: Int)
    {
        var events = input
        if !zip(events, events.dropFirst()).allSatisfy({ $0.event.occurredAt <= $1.event.occurredAt }) {
            events.sort { a, b in
                a.event.occurredAt != b.event.occurredAt ? a.event.occurredAt < b.event.occurredAt : a.sequence < b.sequence
            }
        }
        var task = CampaignTask(rules: .defaults)
        var out: [Output] = []
        var refused: [DeadLetter] = []
        var afterUntil = 0
        for e in events {
            guard e.event.occurredAt <= until else {
                afterUntil += 1
                continue
            }
            _ = task.fold(e, into: &out, refused: &refused)
            out.removeAll(keepingCapacity: true)
        }
        var summaries: [(id: String, summary: ChurnSummary)] = []
        task.forEachCustomerPurchases { id, purchases in
            if let s = ChurnSummary(purchases: purchases, at: until) { summaries.append((id, s)) }
        }
        return (summaries, refused, afterUntil)
    }

    /// The rule-file overlay of spec 3.9: `families: churn: model: {...}` under a version that
    /// names the fit, with the standard errors as a comment.
    public static func overlay(_ fit: ChurnFit, until: Millis) -> String {
        let m = fit.model, se = fit.standardErrors
        let n = JSONWriter.number
        let time = Timestamp.format(until)
        return """
            # BG/NBD churn model fitted by `rekindle churn fit` on \(fit.customers) customers' purchases up to \(time).
            # Standard errors: r \(n(se.r)), alpha \(n(se.alpha)), a \(n(se.a)), b \(n(se.b)).
            version: "churn-\(time)"
            families:
              churn:
                model:
                  r: \(n(m.r))
                  alpha: \(n(m.alpha))
                  a: \(n(m.a))
                  b: \(n(m.b))
                  log_likelihood: \(n(fit.logLikelihood))
                  customers: \(fit.customers)
                  fitted_until: "\(time)"

            """
    }

    /// One line of `--scores` (schemas/churn-scores.schema.json).
    static func appendScore(_ id: String, _ s: ChurnSummary, _ score: ChurnModel.Score, to out: inout [UInt8]) {
        var w = JSONWriter()
        w.beginObject()
        w.key("customer_id"); w.string(id)
        w.key("x"); w.int(s.x)
        w.key("t_x"); w.double(s.tx)
        w.key("T"); w.double(s.T)
        w.key("p_alive"); w.double(score.pAlive)
        w.key("churn_risk"); w.double(score.churnRisk)
        w.key("expected_purchases"); w.double(score.expectedPurchases)
        w.endObject()
        out.append(contentsOf: w.bytes)
    }
}

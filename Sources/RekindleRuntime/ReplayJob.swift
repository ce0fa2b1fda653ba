import Foundation
import RekindleCore

/// `rekindle replay` as a whole: the paths it reads and writes, checked before anything is
/// read or written; the policy (one task streams, and is replayed sorted when the input turns
/// out unsorted; several tasks or stdout sort); and outputs published, each renamed into place,
/// only when the whole run succeeded.
public struct ReplayJob {
    /// Event files; `-` is standard input.
    public var inputs: [String]
    public var rulesPath: String?
    /// Where the triggers go (`-` for stdout); the other outputs default to files beside it.
    public var output: String
    public var conversions: String?
    public var deadLetters: String?
    /// Withheld touches (spec 7.1): written when named, when the rules have experiments or a
    /// policy, or when a touch was withheld (a consent event's revocation needs neither).
    public var withheld: String?
    public var report: String?
    public var partitions = 1
    public var partitioner = Partitioner.murmur2
    public var until: Millis?
    public var progress: Progress?
    /// An event further ahead of `checks.reference` than its `maxFutureSkewMs` is a bad input;
    /// the reference defaults to the moment `run` starts (wall-clock time, the one reading of it
    /// a replay makes: histories are in the past, so they replay unchanged).
    public var checks = InputChecks()
    /// Read the history from the input topics instead of `inputs` (`--bootstrap`).
    public var topicSource: TopicHistory.Source?
    /// Write triggers, conversions, dead letters and withheld touches to these topics instead of
    /// files (`output` and the other file paths are then unused).
    public var outputTopics: ReplayOutputTopics?

    public init(inputs: [String], output: String) {
        self.inputs = inputs
        self.output = output
    }

    public var conversionsPath: String { conversions ?? sibling("conversions.jsonl") }
    public var deadLettersPath: String { deadLetters ?? sibling("dead-letters.jsonl") }
    public var withheldPath: String { withheld ?? sibling("withheld.jsonl") }

    /// Whether the run writes withheld touches even if none is withheld: a rule set without
    /// experiments or a policy, over a history without consent revocations, withholds none, and
    /// its replay writes the files it always did.
    func writesWithheld(_ rules: RuleSet) -> Bool { withheld != nil || rules.experiments != nil || rules.policy != nil }

    /// `<stem>.<suffix>` beside `output` (`replay.<suffix>` when it is stdout).
    func sibling(_ suffix: String) -> String { JobPaths.sibling(of: output, suffix, stdoutStem: "replay") }

    /// Each output with its flag, and how a message shows it (a default says it is one).
    var namedOutputs: [(flag: String, path: String, shown: String)] {
        guard outputTopics == nil else { return report.map { [("--report", $0, $0)] } ?? [] }
        var list = [("--output", output, output)]
        list.append(("--conversions", conversionsPath, conversions ?? "\(conversionsPath) (the default, beside --output)"))
        list.append(("--dead-letters", deadLettersPath, deadLetters ?? "\(deadLettersPath) (the default, beside --output)"))
        list.append(("--withheld", withheldPath, withheld ?? "\(withheldPath) (the default, beside --output)"))
        if let report { list.append(("--report", report, report)) }
        return list
    }

    /// Refuses, before anything is read or written: an input (the rule file too) that is not a
    /// file or a pipe, standard input named twice, an output that is a directory or is an input
    /// (the same file after symlinks, or the same path), and two outputs naming one file.
    public func check() throws(PathError) {
        try JobPaths.check(inputs: inputs, ruleFiles: rulesPath.map { [("--rules", $0)] } ?? [], outputs: namedOutputs)
    }

    /// Runs the replay and returns its report. On any failure every output file is left as it
    /// was (the temporaries are removed).
    public func run() throws -> BacktestReport {
        var files: [OutputFile] = []
        // Whatever was not published (a failure, an abandoned stream) is removed.
        defer { for f in files { f.discard() } }
        try check()
        let rules = try RuleFile.load(path: rulesPath)
        var checks = self.checks
        if checks.reference == nil { checks.reference = Millis((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
        if let outputTopics {
            try outputTopics.check(reading: topicSource?.topics)
            let result = try fold(rules: rules, checks: checks, pipes: [:])
            try outputTopics.write(result, rules: rules, writesWithheld: writesWithheld(rules), progress: progress)
            try publishReport(result.report)
            return result.report
        }
        // Written whatever the rules (a consent revocation withholds without experiments or a
        // policy), and published at the end only if needed.
        var withheldFile = try OutputFile(path: withheldPath)
        files.append(withheldFile)

        var summary: BacktestReport?
        var pipes: [String: PipeCopy] = [:]
        // One task and files to write: the streaming pipeline, unless the input turns out to
        // need sorting (then its outputs are dropped and the sorting path writes new ones).
        if partitions == 1 && topicSource == nil && ![output, conversionsPath, deadLettersPath, withheldPath].contains("-") {
            let streamed = [try OutputFile(path: output), try OutputFile(path: conversionsPath), try OutputFile(path: deadLettersPath)]
            files += streamed
            var streaming = StreamingReplay(rules: rules)
            streaming.until = until
            streaming.checks = checks
            for path in inputs where InputFile.isPipe(path) {
                let pipe = try PipeCopy(path, beside: output)
                pipes[path] = pipe
                streaming.pipes[path] = pipe
            }
            let sinks = StreamingReplay.Sinks(
                triggers: streamed[0].writer, conversions: streamed[1].writer, deadLetters: streamed[2].writer,
                withheld: withheldFile.writer)
            switch try streaming.run(paths: inputs, into: sinks, progress: progress) {
            case .done(let report): summary = report
            case .unsorted:
                for f in streamed { f.discard() }
                withheldFile.discard()
                withheldFile = try OutputFile(path: withheldPath)
                files = [withheldFile]
            }
        }
        if summary == nil {
            let result = try fold(rules: rules, checks: checks, pipes: pipes)
            // Each sealed (flushed) before the next: on stdout they follow one another.
            let triggers = try OutputFile(path: output)
            files.append(triggers)
            for t in result.triggers { triggers.writer.write { t.appendJSON(to: &$0) } }
            try triggers.seal()
            let conversions = try OutputFile(path: conversionsPath)
            files.append(conversions)
            for c in result.conversions { conversions.writer.write { c.appendJSON(to: &$0) } }
            try conversions.seal()
            let dead = try OutputFile(path: deadLettersPath)
            files.append(dead)
            for d in result.deadLetters { dead.writer.write(line: d.json) }
            try dead.seal()
            for t in result.withheld { withheldFile.writer.write { t.appendJSON(to: &$0) } }
            try withheldFile.seal()
            summary = result.report
        }
        if let report {
            let file = try OutputFile(path: report)
            files.append(file)
            file.writer.write(line: summary!.json)
        }
        if !writesWithheld(rules) && summary!.totalWithheld == 0 {
            withheldFile.discard()
            files.removeAll { $0 === withheldFile }
        }
        for f in files { try f.seal() }
        for f in files { try f.publish() }
        return summary!
    }

    /// Writes the report file, if one is named, whole and renamed into place.
    func publishReport(_ summary: BacktestReport) throws {
        guard let report else { return }
        let file = try OutputFile(path: report)
        defer { file.discard() }
        file.writer.write(line: summary.json)
        try file.publish()
    }

    /// The whole history folded in memory, from the topics or the files.
    func fold(rules: RuleSet, checks: InputChecks, pipes: [String: PipeCopy]) throws -> Replay.Result {
        if let topicSource {
            var replay = TopicReplay(rules: rules)
            replay.until = until
            replay.maxFutureSkewMs = checks.maxFutureSkewMs
            return replay.run(try TopicHistory.read(topicSource, progress: progress), progress: progress)
        }
        var reader = EventFileReader(progress: progress, checks: checks)
        for path in inputs {
            if let pipe = pipes[path] { try pipe.readAgain(into: &reader) } else { try reader.read(path: path) }
        }
        var replay = Replay(rules: rules)
        replay.partitions = partitions
        replay.partitioner = partitioner
        replay.until = until
        return replay.run(events: reader.events, deadLetters: reader.deadLetters, progress: progress)
    }
}

/// A pipe input (standard input, a FIFO) held open and copied, as the streaming replay reads
/// it, to an unlinked file beside the outputs: a pipe cannot be rewound or read again from its
/// start, so when the input turns out unsorted the sorting replay reads this copy, then what the
/// stream had not read yet. It costs disk, not memory. The pipe is opened when first read (a
/// FIFO's writer may wait for the inputs before it), by the streaming reader and then, after it
/// has joined, by the sorting path: one thread at a time, hence the unchecked Sendable.
final class PipeCopy: @unchecked Sendable {
    let path: String
    let copy: Int32
    private var input: Int32?

    init(_ path: String, beside output: String) throws {
        self.path = path
        let dir = URL(fileURLWithPath: output).deletingLastPathComponent().path
        let name = "\(dir)/.rekindle-pipe.\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp"
        copy = open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard copy >= 0 else { throw FileError(path: name, reason: String(cString: strerror(errno))) }
        unlink(name)
    }

    /// The open pipe, opened on first use and kept open (closing it early would cut its writer off).
    func openInput() throws -> Int32 {
        if let input { return input }
        let fd = try InputFile.open(path)
        input = fd
        return fd
    }

    /// Copies the rest of the pipe, then reads the whole copy from its first line.
    func readAgain(into reader: inout EventFileReader) throws {
        let input = try openInput()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, reason: String(cString: strerror(errno)), verb: "read")
            }
            if n == 0 { break }
            try buffer.withUnsafeBytes { try FileError.writeAll(copy, UnsafeRawBufferPointer(rebasing: $0[..<n]), path: "a copy of \(path)") }
        }
        guard lseek(copy, 0, SEEK_SET) == 0 else {
            throw FileError(path: "a copy of \(path)", reason: String(cString: strerror(errno)), verb: "read")
        }
        try reader.read(fd: copy, path: path, name: InputFile.name(path))
    }

    deinit {
        if let input, input != 0 { close(input) }
        close(copy)
    }
}

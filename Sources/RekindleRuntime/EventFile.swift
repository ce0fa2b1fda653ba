import Foundation
import RekindleCore

/// An event read from a JSON-lines file, with its place in the input for the stable sort.
public struct SourcedEvent: Sendable {
    public var event: Event
    /// Position across all input files in the order given: ties in `occurred_at` keep it.
    public var sequence: Int
    /// Where an order event was read, with its bytes: the fold may refuse an order (a total that
    /// would overflow the customer's total spent), and its dead letter carries the original.
    /// Other events cannot be refused and carry nothing.
    public var origin: EventOrigin?

    public init(event: Event, sequence: Int, origin: EventOrigin? = nil) {
        self.event = event
        self.sequence = sequence
        self.origin = origin
    }

    /// The dead letter of this event refused by the fold for `error`.
    func deadLetter(_ error: InputError) -> DeadLetter {
        DeadLetter(source: .file(name: origin?.name ?? "input", line: origin?.line ?? 1), error: error, original: origin?.bytes ?? [])
    }
}

/// The file, line and bytes an event was read from.
public struct EventOrigin: Sendable {
    public var name: String
    public var line: Int
    public var bytes: [UInt8]
}

/// What a file replay checks of each event beyond its own form: an `occurred_at` no further than
/// `maxFutureSkewMs` ahead of `reference`, the moment the replay started (a broken client clock
/// dated 9999 would otherwise fire every pending touch at the end). Histories are in the past,
/// so they replay unchanged.
public struct InputChecks: Sendable {
    public var reference: Millis?
    public var maxFutureSkewMs = EventDecoder.defaultMaxFutureSkewMs
    public init(reference: Millis? = nil) { self.reference = reference }
}

/// Reads JSON-lines event files: every line becomes an event or a dead letter, none is lost.
public struct EventFileReader {
    public private(set) var events: [SourcedEvent] = []
    public private(set) var deadLetters: [DeadLetter] = []
    public private(set) var linesRead = 0
    var progress: Progress?
    public var checks = InputChecks()

    public init(progress: Progress? = nil, checks: InputChecks = InputChecks()) {
        self.progress = progress
        self.checks = checks
    }

    /// Reads an event file (`-` is standard input).
    public mutating func read(path: String) throws {
        let name = InputFile.name(path)
        try LineReader.forEachLine(path: path) { read, line in
            add(read, name: name, line: line)
            return true
        }
    }

    /// Reads what is left of an open file, its lines numbered from 1 (a copy of standard input).
    mutating func read(fd: Int32, path: String, name: String) throws {
        var reader = LineReader()
        try reader.forEachLine(fd: fd, path: path) { read, line in
            add(read, name: name, line: line)
            return true
        }
    }

    /// Each line of `path` as a streaming replay's reader stage reads and decodes it (the same
    /// `LineReader` and `decodeLine`), handed to `body` with its number; the benchmark times it.
    public static func forEachDecodedLine(
        path: String, checks: InputChecks = InputChecks(), _ body: (DecodedLine, Int) -> Void
    ) throws {
        let name = InputFile.name(path)
        try LineReader.forEachLine(path: path) { read, line in
            body(decodeLine(read, name: name, line: line, checks: checks), line)
            return true
        }
    }

    /// The lines of `path` as the replay reads them, undecoded (an over-limit line as its kept
    /// prefix): how many there are.
    public static func countLines(path: String) throws -> Int {
        var count = 0
        try LineReader.forEachLine(path: path) { _, _ in
            count += 1
            return true
        }
        return count
    }

    public mutating func read(_ bytes: UnsafeBufferPointer<UInt8>, name: String) {
        var line = 0
        _ = LineReader.split(bytes, final: true, line: &line) { slice, number in
            add(ReadLine(slice, limit: EventDecoder.maxMessageBytes), name: name, line: number)
            return true
        }
    }

    mutating func add(_ read: ReadLine, name: String, line: Int) {
        switch Self.decodeLine(read, name: name, line: line, checks: checks) {
        case .blank: return
        case .event(let event, let origin):
            events.append(SourcedEvent(event: event, sequence: events.count, origin: origin))
        case .bad(let deadLetter):
            deadLetters.append(deadLetter)
        }
        linesRead += 1
        if linesRead % 100_000 == 0 { progress?.update("read \(linesRead) lines") }
    }

    /// One line of an event file: an event, a dead letter (with the file and line), or blank.
    public enum DecodedLine {
        /// An order event comes with its origin (see `SourcedEvent.origin`).
        case event(Event, EventOrigin?)
        case bad(DeadLetter)
        case blank
    }

    public static func decodeLine(
        _ slice: UnsafeBufferPointer<UInt8>, name: String, line: Int, checks: InputChecks = InputChecks()
    ) -> DecodedLine {
        if isBlank(slice) { return .blank }
        func bad(_ error: InputError) -> DecodedLine {
            .bad(DeadLetter(source: .file(name: name, line: line), error: error, original: Array(slice)))
        }
        switch EventDecoder.decode(bytes: slice) {
        case .success(let event):
            if let skew = EventDecoder.checkFutureSkew(event, reference: checks.reference, maxSkewMs: checks.maxFutureSkewMs) {
                return bad(skew)
            }
            guard case .order = event.body else { return .event(event, nil) }
            return .event(event, EventOrigin(name: name, line: line, bytes: Array(slice)))
        case .failure(let error):
            return bad(error)
        }
    }

    /// A line as read: one over the limit is a dead letter carrying its first bytes and its size.
    static func decodeLine(_ read: ReadLine, name: String, line: Int, checks: InputChecks) -> DecodedLine {
        switch read {
        case .line(let slice): return decodeLine(slice, name: name, line: line, checks: checks)
        case .overLimit(let prefix, let size, let limit):
            // The decoder's words for a message over the limit: the dead letter is the one a line
            // read whole would give (its `original_size` says only a prefix is carried).
            return .bad(DeadLetter(
                source: .file(name: name, line: line), error: EventDecoder.tooLarge(size, limit: limit),
                original: Array(prefix), originalSize: size))
        }
    }

    static func isBlank(_ s: UnsafeBufferPointer<UInt8>) -> Bool {
        s.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0d }
    }
}

/// Progress on stderr, only when stderr is a terminal.
public final class Progress: @unchecked Sendable {
    let enabled: Bool
    var last = Date.distantPast

    public init(enabled: Bool = isatty(2) != 0) { self.enabled = enabled }

    public func update(_ message: String) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(last) > 0.2 else { return }
        last = now
        FileHandle.standardError.write(Data("\r\u{1b}[K\(message)".utf8))
    }

    public func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1b}[K".utf8))
    }
}

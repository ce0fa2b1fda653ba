import Foundation
import RekindleCore

/// An event read from a JSON-lines file, with its place in the input for the stable sort.
public struct SourcedEvent: Sendable {
    public var event: Event
    /// Position across all input files in the order given: ties in `occurred_at` keep it.
    public var sequence: Int

    public init(event: Event, sequence: Int) {
        self.event = event
        self.sequence = sequence
    }
}

/// Reads JSON-lines event files: every line becomes an event or a dead letter, none is lost.
public struct EventFileReader {
    public private(set) var events: [SourcedEvent] = []
    public private(set) var deadLetters: [DeadLetter] = []
    public private(set) var linesRead = 0
    var progress: Progress?

    public init(progress: Progress? = nil) { self.progress = progress }

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

    public mutating func read(_ bytes: UnsafeBufferPointer<UInt8>, name: String) {
        var line = 0
        _ = LineReader.split(bytes, final: true, line: &line) { slice, number in
            add(ReadLine(slice, limit: EventDecoder.maxMessageBytes), name: name, line: number)
            return true
        }
    }

    mutating func add(_ read: ReadLine, name: String, line: Int) {
        switch Self.decodeLine(read, name: name, line: line) {
        case .blank: return
        case .event(let event):
            events.append(SourcedEvent(event: event, sequence: events.count))
        case .bad(let deadLetter):
            deadLetters.append(deadLetter)
        }
        linesRead += 1
        if linesRead % 100_000 == 0 { progress?.update("read \(linesRead) lines") }
    }

    /// One line of an event file: an event, a dead letter (with the file and line), or blank.
    public enum DecodedLine {
        case event(Event)
        case bad(DeadLetter)
        case blank
    }

    public static func decodeLine(_ slice: UnsafeBufferPointer<UInt8>, name: String, line: Int) -> DecodedLine {
        if isBlank(slice) { return .blank }
        switch EventDecoder.decode(bytes: slice) {
        case .success(let event): return .event(event)
        case .failure(let error):
            let source = DeadLetter.Source.file(name: name, line: line)
            return .bad(DeadLetter(source: source, reason: DeadLetter.describe(source, error), original: Array(slice)))
        }
    }

    /// A line as read: one over the limit is a dead letter carrying its first bytes and its size.
    static func decodeLine(_ read: ReadLine, name: String, line: Int) -> DecodedLine {
        switch read {
        case .line(let slice): return decodeLine(slice, name: name, line: line)
        case .overLimit(let prefix, let size, let limit):
            let source = DeadLetter.Source.file(name: name, line: line)
            let limitText = limit == 1 << 20 ? "1 MiB" : "\(limit)-byte"
            // The decoder's words for a message over the limit: the dead letter is the one a line
            // read whole would give (its `original_size` says only a prefix is carried).
            let error = InputError(.tooLarge, "message is \(size) bytes, over the \(limitText) limit")
            return .bad(DeadLetter(source: source, reason: DeadLetter.describe(source, error), original: Array(prefix), originalSize: size))
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

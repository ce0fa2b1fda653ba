import Foundation
import RekindleCore

/// One line as `LineReader` hands it over: its bytes, or, for a line over the limit, only the
/// first bytes (the rest was skipped to its newline without being held) and its full size.
enum ReadLine {
    case line(UnsafeBufferPointer<UInt8>)
    case overLimit(prefix: UnsafeBufferPointer<UInt8>, size: Int, limit: Int)

    /// A whole line, over the limit or not (a file read into memory is judged as one streamed).
    init(_ slice: UnsafeBufferPointer<UInt8>, limit: Int, keep: Int = DeadLetter.maxOriginalBytes) {
        self = slice.count > limit
            ? .overLimit(prefix: UnsafeBufferPointer(rebasing: slice.prefix(keep)), size: slice.count, limit: limit) : .line(slice)
    }
}

/// Reads lines in fixed chunks, so input of any size, and a line of any length, costs at most
/// one buffer of `max(chunk, maxLine + 2)` bytes.
struct LineReader {
    /// A line longer than this (without its newline or trailing CR) is `.overLimit`.
    var maxLine = EventDecoder.maxMessageBytes
    /// How much of an over-limit line is kept (what a dead letter carries of it).
    var keep = DeadLetter.maxOriginalBytes
    var chunk = 4 << 20
    /// Every byte read is also written here (a copy of standard input, to read it again).
    var copy: Int32?
    /// The most bytes the buffer ever held: the reader's memory, whatever the input.
    private(set) var largestBuffer = 0

    init() {}

    /// Calls `body(line, number)` for each line of `bytes` (without its newline or a trailing CR),
    /// numbering from `line`, until it returns false (then nil). Unless `final`, a last line with
    /// no newline is left for the next read. Returns how many bytes it consumed.
    static func split(
        _ bytes: UnsafeBufferPointer<UInt8>, final: Bool, line: inout Int, _ body: (UnsafeBufferPointer<UInt8>, Int) -> Bool
    ) -> Int? {
        guard let base = bytes.baseAddress else { return 0 }
        var start = 0
        while start < bytes.count {
            let end = memchr(base + start, 0x0a, bytes.count - start)
                .map { UnsafeRawPointer($0) - UnsafeRawPointer(base) } ?? bytes.count
            if end == bytes.count && !final { break }  // a partial line: read more
            line += 1
            var stop = end
            if stop > start && bytes[stop - 1] == 0x0d { stop -= 1 }
            guard body(UnsafeBufferPointer(rebasing: bytes[start..<stop]), line) else { return nil }
            start = end + 1
        }
        return min(start, bytes.count)
    }

    /// Opens `path` as an input (`-` is standard input) and reads its lines.
    static func forEachLine(path: String, _ body: (ReadLine, Int) -> Bool) throws {
        var reader = LineReader()
        try reader.forEachLine(path: path, body)
    }

    mutating func forEachLine(path: String, _ body: (ReadLine, Int) -> Bool) throws {
        let fd = try InputFile.open(path)
        defer { if fd != 0 { close(fd) } }
        try forEachLine(fd: fd, path: path, body)
    }

    /// Calls `body(line, number)` for each line of `fd` until it returns false. A line longer than
    /// the buffer grows it, up to `maxLine + 2` bytes; past that the line is over the limit
    /// whatever its CR: its first `keep` bytes are kept and the rest is counted, not held.
    mutating func forEachLine(fd: Int32, path: String, _ body: (ReadLine, Int) -> Bool) throws {
        let capacity = max(chunk, maxLine + 2)
        var buffer = [UInt8](repeating: 0, count: min(chunk, capacity))
        largestBuffer = max(largestBuffer, buffer.count)
        var filled = 0
        var line = 0
        var atEnd = false
        // The line being skipped: its kept prefix, bytes so far, and whether the last was a CR.
        var skipped: (prefix: [UInt8], size: Int, lastCR: Bool)?
        let maxLine = maxLine, keep = keep
        func deliver(_ slice: UnsafeBufferPointer<UInt8>, _ number: Int) -> Bool {
            body(ReadLine(slice, limit: maxLine, keep: keep), number)
        }
        func endSkip(_ s: (prefix: [UInt8], size: Int, lastCR: Bool)) -> Bool {
            line += 1
            return s.prefix.withUnsafeBufferPointer { body(.overLimit(prefix: $0, size: s.size - (s.lastCR ? 1 : 0), limit: maxLine), line) }
        }
        while !atEnd {
            if filled == buffer.count {
                if buffer.count < capacity {
                    buffer.append(contentsOf: repeatElement(0, count: min(buffer.count, capacity - buffer.count)))
                    largestBuffer = max(largestBuffer, buffer.count)
                } else {
                    // No newline in a full buffer: the line is over the limit. Keep its start only.
                    skipped = (Array(buffer.prefix(keep)), filled, buffer[filled - 1] == 0x0d)
                    filled = 0
                }
            }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, reason: String(cString: strerror(errno)), verb: "read")
            }
            if n > 0, let copy {
                try buffer.withUnsafeBytes { try FileError.writeAll(copy, UnsafeRawBufferPointer(rebasing: $0[filled..<filled + n]), path: path) }
            }
            atEnd = n == 0
            if var s = skipped {
                // Skipping (filled is 0): look for the newline that ends the long line.
                let newline = buffer.withUnsafeBytes { raw in
                    memchr(raw.baseAddress!, 0x0a, n).map { UnsafeRawPointer($0) - raw.baseAddress! }
                }
                guard let newline else {
                    s.size += n
                    if n > 0 { s.lastCR = buffer[n - 1] == 0x0d }
                    skipped = s
                    if atEnd { _ = endSkip(s) }
                    continue
                }
                s.size += newline
                if newline > 0 { s.lastCR = buffer[newline - 1] == 0x0d }
                skipped = nil
                guard endSkip(s) else { return }
                buffer.withUnsafeMutableBytes { raw in
                    let base = raw.baseAddress!
                    memmove(base, base + newline + 1, n - newline - 1)
                }
                filled = n - newline - 1
            } else {
                filled += n
            }
            let consumed = buffer.withUnsafeBufferPointer {
                LineReader.split(UnsafeBufferPointer(rebasing: $0[..<filled]), final: atEnd, line: &line, deliver)
            }
            guard let consumed else { return }
            if consumed > 0 {
                buffer.withUnsafeMutableBytes { raw in
                    let base = raw.baseAddress!
                    memmove(base, base + consumed, filled - consumed)
                }
                filled -= consumed
            }
        }
    }
}

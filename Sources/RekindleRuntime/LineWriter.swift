import Foundation

/// A file that could not be opened or written, with the system's reason.
public struct FileError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var verb = "write"
    public var description: String { "cannot \(verb) \(path): \(reason)" }
}

/// Buffered JSON-lines output to a file or stdout. Used by one thread at a time (a replay hands
/// it to its writer stage), hence the unchecked Sendable.
public final class LineWriter: @unchecked Sendable {
    let fd: Int32
    let path: String
    var buffer: [UInt8] = []
    var failure: FileError?

    public init(path: String) throws {
        self.path = path
        if path == "-" {
            fd = 1
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw FileError(path: path, reason: String(cString: strerror(errno))) }
        }
        buffer.reserveCapacity(1 << 20)
    }

    public func write(line bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        buffer.append(0x0a)
        if buffer.count >= 1 << 20 { flush() }
    }

    public func write(line text: String) { write(line: Array(text.utf8)) }

    /// Lets `body` append one line's bytes straight into the buffer (no array per line).
    public func write(_ body: (inout [UInt8]) -> Void) {
        body(&buffer)
        buffer.append(0x0a)
        if buffer.count >= 1 << 20 { flush() }
    }

    public func flush() {
        guard !buffer.isEmpty, failure == nil else { return }
        buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = FileError(path: path, reason: String(cString: strerror(errno)))
                    return
                }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and closes; throws if any write failed (a full disk must not pass silently).
    public func close() throws {
        flush()
        if fd != 1 { _ = Foundation.close(fd) }
        if let failure { throw failure }
    }
}

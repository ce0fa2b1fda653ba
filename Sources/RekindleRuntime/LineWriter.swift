import Foundation

/// A file that could not be opened or written, with the system's reason.
public struct FileError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var verb = "write"
    public var description: String { "cannot \(verb) \(path): \(reason)" }

    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(FileError) {
        var offset = 0
        while offset < bytes.count {
            let n = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, reason: String(cString: strerror(errno)))
            }
            offset += n
        }
    }
}

/// Buffered JSON-lines output to a file or stdout. Used by one thread at a time (a replay hands
/// it to its writer stage), hence the unchecked Sendable.
public final class LineWriter: @unchecked Sendable {
    let fd: Int32
    let path: String
    var buffer: [UInt8] = []
    var failure: FileError?
    /// Bytes handed to the file so far, and those still buffered.
    var flushed = 0
    public var bytesWritten: Int { flushed + buffer.count }

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

    /// Writes to an open descriptor, which `close` closes (unless it is stdout).
    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
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
        failure = buffer.withUnsafeBytes { raw -> FileError? in
            do throws(FileError) { try FileError.writeAll(fd, raw, path: path) } catch { return error }
            return nil
        }
        flushed += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and closes; throws if any write failed (a full disk must not pass silently).
    /// With `sync`, the bytes are on disk before it returns (a rename may then publish them).
    public func close(sync: Bool = false) throws {
        flush()
        if sync && failure == nil && fsync(fd) != 0 && errno != EINVAL {
            failure = FileError(path: path, reason: String(cString: strerror(errno)))
        }
        if fd != 1 { _ = Foundation.close(fd) }
        if let failure { throw failure }
    }
}

import Foundation

/// An output written under a temporary name in its own directory and renamed into place by
/// `commit`, so a reader (or a failed run) never sees half a file and an existing file stays
/// as it was until the new one is whole. `-` is stdout, and a device or FIFO (`/dev/null`) is
/// written in place: neither can be renamed over.
public final class OutputFile: @unchecked Sendable {
    public let path: String
    public let writer: LineWriter
    /// The temporary name and the file it replaces (a symlink's target, not the link).
    let temporary: String?
    let target: String
    private var finished = false

    public init(path: String) throws {
        self.path = path
        guard path != "-" else {
            writer = LineWriter(fd: 1, path: path)
            temporary = nil
            target = path
            return
        }
        var st = stat()
        let exists = stat(path, &st) == 0
        if exists && (st.st_mode & S_IFMT) == S_IFDIR {
            throw FileError(path: path, reason: "it is a directory")
        }
        if exists && (st.st_mode & S_IFMT) != S_IFREG {
            let fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY)
            guard fd >= 0 else { throw FileError(path: path, reason: String(cString: strerror(errno))) }
            writer = LineWriter(fd: fd, path: path)
            temporary = nil
            target = path
            return
        }
        target = exists ? FileIdentity.resolve(path) ?? path : path
        let url = URL(fileURLWithPath: target)
        let name = ".\(url.lastPathComponent).\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp"
        let temporary = url.deletingLastPathComponent().appendingPathComponent(name).path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(path: path, reason: String(cString: strerror(errno))) }
        // A replaced file keeps its permissions, as writing over it did.
        if exists { _ = fchmod(fd, st.st_mode & 0o7777) }
        self.temporary = temporary
        writer = LineWriter(fd: fd, path: path)
    }

    private var sealed = false

    /// Flushes, syncs and closes the file; throws (and removes the temporary) if any write
    /// failed. Several outputs are all sealed before any is published.
    public func seal() throws {
        guard !sealed && !finished else { return }
        sealed = true
        do {
            try writer.close(sync: temporary != nil)
        } catch {
            finished = true
            if let temporary { unlink(temporary) }
            throw error
        }
    }

    /// Renames the sealed file into place.
    public func publish() throws {
        try seal()
        guard !finished else { return }
        finished = true
        if let temporary, rename(temporary, target) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw FileError(path: path, reason: reason)
        }
    }

    /// Closes and removes the temporary; the file at `path` is untouched.
    public func discard() {
        guard !finished else { return }
        finished = true
        if !sealed { try? writer.close() }
        if let temporary { unlink(temporary) }
    }

    deinit { discard() }
}

import Foundation
import RekindleCore

/// Snapshots as files: `<dir>/task-<k>/<sequence>.snap`, written to a temporary file, fsynced,
/// renamed into place and the directory fsynced, so a crash leaves the old file or the new one,
/// never half of one. The newest `keep` are kept. The name is the whole sequence in 20 decimal
/// digits, owner epoch included (`SnapshotSequence`: epoch x 2^32 + counter), so names sort as
/// restores rank them, and files written before epochs existed (epoch 0) sort below.
public struct DirectorySnapshotStore: SnapshotStore {
    public let directory: String
    public let keep: Int

    /// Touches nothing: `prepare()` (which `run` calls) creates the directory and checks it.
    public init(directory: String, keep: Int = 3) throws {
        self.directory = directory
        self.keep = max(1, keep)
    }

    func taskDirectory(_ partition: Int32) -> String { "\(directory)/task-\(partition)" }

    static func fileName(_ sequence: UInt64) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".snap"
    }

    /// Creates the directory, proves that it takes a durable write (a probe file written, fsynced
    /// and removed) and removes the temporary files of writes a crash interrupted (regular files
    /// named `<sequence>.snap.tmp`: nothing else there is ours to delete).
    @discardableResult public func prepare() throws -> [String] {
        do {
            try Self.makeDirectory(directory)
            let probe = "\(directory)/.rekindle-probe-\(getpid())"
            defer { unlink(probe) }
            try Self.writeDurably(Array("probe\n".utf8), to: probe)
            guard unlink(probe) == 0 else { throw FileError(path: probe, reason: String(cString: strerror(errno)), verb: "remove") }
        } catch let error as FileError {
            throw LiveError("snapshot directory \(directory) is not writable: \(error)")
        }
        var removed: [String] = []
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for task in tasks.sorted() where task.hasPrefix("task-") {
            let dir = "\(directory)/\(task)"
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() where name.hasSuffix(".snap.tmp") {
                var info = stat()
                guard lstat("\(dir)/\(name)", &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
                if unlink("\(dir)/\(name)") == 0 { removed.append("\(dir)/\(name)") }
            }
        }
        return removed
    }

    public func save(_ snapshot: TaskSnapshot) throws { try write(snapshot, exclusive: false) }

    /// A claim is put in place with link(2), which fails when the name exists: of two processes
    /// that computed the same epoch, the second is refused instead of replacing the first's
    /// claim (rename would), and retries in a later epoch. The first's later snapshots may have
    /// pruned its claim already, so a claim is also refused when a snapshot at or above it is
    /// stored, checked before the write and again after the link (then the claim is removed).
    public func claim(_ snapshot: TaskSnapshot) throws {
        let dir = taskDirectory(snapshot.partition)
        /// A stored snapshot at or above the claim (above only: once the claim is linked in).
        func rival(orEqual: Bool) throws -> UInt64? {
            try snapshotNames(dir).compactMap { UInt64($0.dropLast(".snap".count)) }
                .first { orEqual ? $0 >= snapshot.sequence : $0 > snapshot.sequence }
        }
        let refused = { (top: UInt64) in
            FileError(path: "\(dir)/\(Self.fileName(snapshot.sequence))",
                      reason: "snapshot \(SnapshotSequence(top)) is stored: another owner claimed this epoch first", verb: "claim")
        }
        if let top = try rival(orEqual: true) { throw refused(top) }
        try write(snapshot, exclusive: true)
        if let top = try rival(orEqual: false) {
            unlink("\(dir)/\(Self.fileName(snapshot.sequence))")
            throw refused(top)
        }
    }

    func write(_ snapshot: TaskSnapshot, exclusive: Bool) throws {
        let dir = taskDirectory(snapshot.partition)
        try Self.makeDirectory(dir)
        let final = "\(dir)/\(Self.fileName(snapshot.sequence))"
        let temp = "\(final).tmp"
        do {
            try Self.writeDurably(snapshot.encoded(), to: temp)
            if exclusive {
                guard link(temp, final) == 0 else {
                    let code = errno
                    throw FileError(path: final, reason: code == EEXIST ? "another owner claimed this epoch first" : String(cString: strerror(code)),
                                    verb: "link \(temp) to")
                }
                unlink(temp)
            } else {
                guard rename(temp, final) == 0 else {
                    throw FileError(path: final, reason: String(cString: strerror(errno)), verb: "rename \(temp) to")
                }
            }
        } catch {
            unlink(temp)  // a failed write leaves no temporary file behind
            throw error
        }
        try Self.syncDirectory(dir)
        let names = try snapshotNames(dir)
        for old in names.dropFirst(keep) { try? FileManager.default.removeItem(atPath: "\(dir)/\(old)") }
    }

    /// Newest first (names sort by zero-padded sequence).
    func snapshotNames(_ dir: String) throws -> [String] {
        guard FileManager.default.fileExists(atPath: dir) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".snap") }.sorted(by: >)
    }

    public func candidates(partition: Int32) throws -> [SnapshotCandidate] {
        let dir = taskDirectory(partition)
        return try snapshotNames(dir).map { name in
            let path = "\(dir)/\(name)"
            let sequence = UInt64(name.dropLast(".snap".count))
            guard let data = FileManager.default.contents(atPath: path) else {
                return SnapshotCandidate(name: path, sequence: sequence, bytes: [])
            }
            return SnapshotCandidate(name: path, sequence: sequence, bytes: [UInt8](data))
        }
    }

    /// `mkdir -p`, with the system's reason when it fails.
    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) == 0 { return }
        let code = errno
        if code == EEXIST {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw FileError(path: path, reason: "a file of that name is in the way", verb: "create directory")
            }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if code == ENOENT && !parent.isEmpty && parent != path {
            try makeDirectory(parent)
            return try makeDirectory(path)
        }
        throw FileError(path: path, reason: String(cString: strerror(code)), verb: "create directory")
    }

    static func writeDurably(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        try bytes.withUnsafeBytes { try FileError.writeAll(fd, $0, path: path) }
        guard fsync(fd) == 0 else { throw FileError(path: path, reason: String(cString: strerror(errno))) }
    }

    static func syncDirectory(_ dir: String) throws {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: dir, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        _ = fsync(fd)
    }
}

import Foundation
import RekindleCore

/// Snapshots as files: `<dir>/task-<k>/<sequence>.snap`, written to a temporary file, fsynced,
/// renamed into place and the directory fsynced, so a crash leaves the old file or the new one,
/// never half of one. The newest `keep` are kept.
public struct DirectorySnapshotStore: SnapshotStore {
    public let directory: String
    public let keep: Int

    public init(directory: String, keep: Int = 3) throws {
        self.directory = directory
        self.keep = max(1, keep)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func taskDirectory(_ partition: Int32) -> String { "\(directory)/task-\(partition)" }

    static func fileName(_ sequence: UInt64) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".snap"
    }

    public func save(_ snapshot: TaskSnapshot) throws {
        let dir = taskDirectory(snapshot.partition)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let final = "\(dir)/\(Self.fileName(snapshot.sequence))"
        let temp = "\(final).tmp"
        try Self.writeDurably(snapshot.encoded(), to: temp)
        guard rename(temp, final) == 0 else { throw FileError(path: final, reason: String(cString: strerror(errno))) }
        try Self.syncDirectory(dir)
        let names = try snapshotNames(dir)
        for old in names.dropFirst(keep) { try? FileManager.default.removeItem(atPath: "\(dir)/\(old)") }
    }

    /// Newest first (names sort by zero-padded sequence).
    func snapshotNames(_ dir: String) throws -> [String] {
        guard FileManager.default.fileExists(atPath: dir) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".snap") }.sorted(by: >)
    }

    public func candidates(partition: Int32) throws -> [(name: String, bytes: [UInt8])] {
        let dir = taskDirectory(partition)
        return try snapshotNames(dir).map { name in
            let path = "\(dir)/\(name)"
            guard let data = FileManager.default.contents(atPath: path) else { return (path, []) }
            return (path, [UInt8](data))
        }
    }

    static func writeDurably(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, reason: String(cString: strerror(errno)))
            }
            offset += n
        }
        guard fsync(fd) == 0 else { throw FileError(path: path, reason: String(cString: strerror(errno))) }
    }

    static func syncDirectory(_ dir: String) throws {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: dir, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        _ = fsync(fd)
    }
}

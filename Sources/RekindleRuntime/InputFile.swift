import Foundation

/// A flag naming a path that cannot be used as asked (a directory as input, an output that is an
/// input): a usage problem, found before anything is read or written.
public struct PathError: Error, CustomStringConvertible, Equatable {
    public var flag: String
    public var path: String
    public var problem: String
    public init(flag: String, path: String, problem: String) {
        self.flag = flag
        self.path = path
        self.problem = problem
    }
    public var description: String { "\(flag): \(path) \(problem)" }
}

/// The files a command reads: a regular file or a pipe (`-` is standard input), never a
/// directory or a device, whose bytes would never end (`/dev/zero`) or never come.
public enum InputFile {
    /// The name a dead letter gives the input.
    public static func name(_ path: String) -> String {
        path == "-" ? "stdin" : (path as NSString).lastPathComponent
    }

    /// Why `path` cannot be read as an input, or nil: it must exist and be a regular file, a
    /// FIFO or a socket (what a shell pipe or a service manager gives as standard input).
    public static func check(_ path: String, flag: String) throws(PathError) {
        var st = stat()
        let found = path == "-" ? fstat(0, &st) == 0 : stat(path, &st) == 0
        guard found else {
            throw PathError(flag: flag, path: path == "-" ? "- (standard input)" : path,
                            problem: "cannot be read: \(String(cString: strerror(errno)))")
        }
        if let kind = unusableKind(st.st_mode) {
            throw PathError(flag: flag, path: path == "-" ? "- (standard input)" : path,
                            problem: "is \(kind), not a file or a pipe")
        }
    }

    /// Whether `path` is read as a stream that cannot be read twice from its start: a FIFO, a
    /// socket, or standard input, whatever it is (a redirected file is read from where it is).
    public static func isPipe(_ path: String) -> Bool {
        var st = stat()
        guard path != "-" else { return true }
        guard stat(path, &st) == 0 else { return false }
        return (st.st_mode & S_IFMT) != S_IFREG
    }

    static func unusableKind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG, S_IFIFO, S_IFSOCK: return nil
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        default: return "not a regular file"
        }
    }

    /// Opens an input for reading (`-` is standard input, fd 0, which the caller must not
    /// close), checking again what it is now that it is open.
    static func open(_ path: String) throws -> Int32 {
        let fd = path == "-" ? 0 : Foundation.open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { throw FileError(path: path, reason: String(cString: strerror(errno)), verb: "read") }
        var st = stat()
        if fstat(fd, &st) != 0 || unusableKind(st.st_mode) != nil {
            let kind = unusableKind(st.st_mode) ?? "not readable"
            if fd != 0 { close(fd) }
            throw FileError(path: path, reason: "it is \(kind), not a file or a pipe", verb: "read")
        }
        return fd
    }
}

/// Where a path leads: the file (device and inode, symlinks followed) when it exists, else its
/// absolute path (parent directory resolved), so two names for one file compare equal.
public enum FileIdentity: Hashable, Sendable {
    case file(device: UInt64, inode: UInt64)
    case absent(String)

    public init(path: String) {
        var st = stat()
        if (path == "-" ? fstat(0, &st) : stat(path, &st)) == 0 {
            self = .file(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
            return
        }
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let parent = url.deletingLastPathComponent().path
        if let dir = FileIdentity.resolve(parent) {
            self = .absent((dir == "/" ? "" : dir) + "/" + url.lastPathComponent)
        } else {
            self = .absent(url.path)
        }
    }

    /// The path with every symlink followed (`realpath`), or nil when it does not exist.
    static func resolve(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

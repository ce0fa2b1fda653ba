import Foundation
import Testing

/// Runs the built `rekindle` binary and other programs, with output captured in files (no pipe
/// can fill up and stall the child).
enum CLI {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static var binary: URL {
        let candidates = [
            Bundle.main.bundleURL.appendingPathComponent("rekindle"),
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("rekindle"),
            packageRoot.appendingPathComponent(".build/debug/rekindle"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates.last!
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func rekindle(_ args: [String]) throws -> Result { try run(binary, args) }

    static func python(_ args: [String]) throws -> Result {
        try run(URL(fileURLWithPath: "/usr/bin/env"), ["python3"] + args)
    }

    static func run(_ executable: URL, _ args: [String]) throws -> Result {
        let dir = try temporaryDirectory()
        let out = dir.appendingPathComponent("stdout"), err = dir.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        p.currentDirectoryURL = packageRoot
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        p.waitUntilExit()
        return Result(
            status: p.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
            stderr: try String(contentsOf: err, encoding: .utf8))
    }

    /// `run` without holding a thread while the child runs, for a child that talks to a server
    /// in this process (waiting would take a thread of the small pool the server answers on).
    static func runAsync(_ executable: URL, _ args: [String], environment: [String: String]? = nil) async throws -> Result {
        let dir = try temporaryDirectory()
        let out = dir.appendingPathComponent("stdout"), err = dir.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        if let environment { p.environment = environment }
        p.currentDirectoryURL = packageRoot
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            p.terminationHandler = { _ in done.resume() }
            do { try p.run() } catch { done.resume(throwing: error) }
        }
        return Result(
            status: p.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
            stderr: try String(contentsOf: err, encoding: .utf8))
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rekindle-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

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
        let child = try Child(executable, args, environment: nil)
        try child.process.run()
        child.process.waitUntilExit()
        return try child.result()
    }

    /// `run` without holding a thread while the child runs, for a child that talks to a server
    /// in this process (waiting would take a thread of the small pool the server answers on).
    static func runAsync(_ executable: URL, _ args: [String], environment: [String: String]? = nil) async throws -> Result {
        let child = try Child(executable, args, environment: environment)
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            child.process.terminationHandler = { _ in done.resume() }
            do { try child.process.run() } catch { done.resume(throwing: error) }
        }
        return try child.result()
    }

    /// A process set up to write its output to two fresh files, not yet started.
    struct Child {
        let process = Process()
        let out: URL, err: URL

        init(_ executable: URL, _ args: [String], environment: [String: String]?) throws {
            let dir = try temporaryDirectory()
            out = dir.appendingPathComponent("stdout")
            err = dir.appendingPathComponent("stderr")
            _ = FileManager.default.createFile(atPath: out.path, contents: nil)
            _ = FileManager.default.createFile(atPath: err.path, contents: nil)
            process.executableURL = executable
            process.arguments = args
            if let environment { process.environment = environment }
            process.currentDirectoryURL = packageRoot
            process.standardOutput = try FileHandle(forWritingTo: out)
            process.standardError = try FileHandle(forWritingTo: err)
        }

        func result() throws -> Result {
            Result(
                status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
                stderr: try String(contentsOf: err, encoding: .utf8))
        }
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rekindle-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

import Foundation
@testable import RekindleRuntime
import Testing

/// Outputs appear whole or not at all: written under a temporary name, renamed into place.
@Suite struct OutputFileTests {
    static func entries(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    }

    @Test func anExistingFileIsUntouchedUntilPublishAndThenReplacedWhole() throws {
        let dir = try CLI.temporaryDirectory().path
        let path = "\(dir)/out.jsonl"
        try "old\n".write(toFile: path, atomically: false, encoding: .utf8)
        let out = try OutputFile(path: path)
        out.writer.write(line: "new")
        out.writer.flush()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "old\n")
        #expect(try Self.entries(dir).count == 2, "the temporary sits beside it")
        try out.publish()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new\n")
        #expect(try Self.entries(dir) == ["out.jsonl"])
    }

    @Test func discardRemovesTheTemporaryAndLeavesTheFileAsItWas() throws {
        let dir = try CLI.temporaryDirectory().path
        let path = "\(dir)/out.jsonl"
        try "old\n".write(toFile: path, atomically: false, encoding: .utf8)
        let out = try OutputFile(path: path)
        out.writer.write(line: "half")
        out.writer.flush()
        out.discard()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "old\n")
        #expect(try Self.entries(dir) == ["out.jsonl"])
        // A new file that was never published does not appear at all.
        let fresh = try OutputFile(path: "\(dir)/fresh.jsonl")
        fresh.writer.write(line: "x")
        fresh.discard()
        #expect(try Self.entries(dir) == ["out.jsonl"])
    }

    @Test func aSymlinkedOutputStaysALinkAndItsTargetIsReplaced() throws {
        let dir = try CLI.temporaryDirectory().path
        try FileManager.default.createDirectory(atPath: "\(dir)/real", withIntermediateDirectories: true)
        try "old\n".write(toFile: "\(dir)/real/out.jsonl", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/link.jsonl", withDestinationPath: "\(dir)/real/out.jsonl")
        let out = try OutputFile(path: "\(dir)/link.jsonl")
        out.writer.write(line: "new")
        try out.publish()
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(dir)/link.jsonl") == "\(dir)/real/out.jsonl")
        #expect(try String(contentsOfFile: "\(dir)/real/out.jsonl", encoding: .utf8) == "new\n")
        #expect(try Self.entries("\(dir)/real") == ["out.jsonl"])
    }

    @Test func aFIFOIsWrittenInPlaceNotReplaced() throws {
        // As /dev/null would be: a FIFO (safe to try here) cannot be renamed over.
        let dir = try CLI.temporaryDirectory().path
        let path = "\(dir)/fifo"
        #expect(mkfifo(path, 0o600) == 0)
        let reader = open(path, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }
        let out = try OutputFile(path: path)
        out.writer.write(line: "through")
        try out.publish()
        var bytes = [UInt8](repeating: 0, count: 64)
        let n = read(reader, &bytes, bytes.count)
        #expect(n == 8 && Array(bytes.prefix(8)) == Array("through\n".utf8))
        var st = stat()
        #expect(stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO)
        #expect(try Self.entries(dir) == ["fifo"])
    }
}

import Foundation
import RekindleCore
@testable import RekindleRuntime
import Testing

/// The line reader's bound: a line over the limit is never held whole, whatever its length.
@Suite struct LineReaderTests {
    static func file(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rk-reader-\(UUID().uuidString)").path
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { throw FileError(path: path, reason: "create") }
        return path
    }

    enum Seen: Equatable {
        case line(Int, [UInt8])
        case over(Int, prefix: [UInt8], size: Int)
    }

    static func read(_ path: String, _ configure: (inout LineReader) -> Void) throws -> (seen: [Seen], largest: Int) {
        var reader = LineReader()
        configure(&reader)
        var seen: [Seen] = []
        try reader.forEachLine(path: path) { read, number in
            switch read {
            case .line(let l): seen.append(.line(number, Array(l)))
            case .overLimit(let prefix, let size, _): seen.append(.over(number, prefix: Array(prefix), size: size))
            }
            return true
        }
        return (seen, reader.largestBuffer)
    }

    @Test func aTwentyMegabyteLineIsSkippedWithABufferNoLargerThanTheLimit() throws {
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: 20_000_000)
        let path = try Self.file(Array("{\"a\":1}\n".utf8) + long + Array("\r\nafter\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let got = try Self.read(path) {
            $0.chunk = 64 << 10
            $0.maxLine = 1 << 20
        }
        #expect(got.seen == [
            .line(1, Array("{\"a\":1}".utf8)),
            .over(2, prefix: Array(long.prefix(DeadLetter.maxOriginalBytes)), size: 20_000_000),
            .line(3, Array("after".utf8)),
        ])
        // The most the reader ever held: the limit plus a newline and a CR, not the line.
        #expect(got.largest == (1 << 20) + 2)
    }

    @Test func aLineOfExactlyTheLimitIsReadWholeAndOneByteMoreIsOverIt() throws {
        let limit = 1000
        let at = [UInt8](repeating: 0x61, count: limit), over = [UInt8](repeating: 0x62, count: limit + 1)
        // CRLF does not count; the second long line ends the file with no newline.
        let path = try Self.file(at + [0x0d, 0x0a] + at + [0x0a] + over + [0x0d, 0x0a] + over)
        defer { try? FileManager.default.removeItem(atPath: path) }
        for chunk in [7, 256, 4096] {
            let got = try Self.read(path) {
                $0.chunk = chunk
                $0.maxLine = limit
                $0.keep = 10
            }
            #expect(got.seen == [
                .line(1, at), .line(2, at),
                .over(3, prefix: Array(over.prefix(10)), size: limit + 1),
                .over(4, prefix: Array(over.prefix(10)), size: limit + 1),
            ], "chunk \(chunk)")
            #expect(got.largest <= max(chunk, limit + 2), "chunk \(chunk)")
        }
    }

    @Test func anOverLimitLineBecomesAValidDeadLetterSayingWhereWithItsFirstBytes() throws {
        let path = try Self.file(Array("\n".utf8) + [UInt8](repeating: 0x7a, count: 3 << 20) + [0x0a])
        defer { try? FileManager.default.removeItem(atPath: path) }
        var reader = EventFileReader()
        try reader.read(path: path)
        #expect(reader.events.isEmpty)
        #expect(reader.deadLetters.count == 1)
        let dead = try #require(reader.deadLetters.first)
        let name = (path as NSString).lastPathComponent
        #expect(dead.reason == "\(name) line 2: message is \(3 << 20) bytes, over the 1 MiB limit")
        #expect(dead.original.count == DeadLetter.maxOriginalBytes)
        let json = try JSONParser.parse(String(decoding: dead.json, as: UTF8.self))
        #expect(json["original_truncated"] == .bool(true))
        #expect(json["original_size"] == .number(Double(3 << 20)))
        #expect(json["source"]?["line"] == .number(2))
        // The same line read from memory gives the same dead letter.
        var fromMemory = EventFileReader()
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes.withUnsafeBufferPointer { fromMemory.read($0, name: name) }
        #expect(fromMemory.deadLetters == reader.deadLetters)
    }
}

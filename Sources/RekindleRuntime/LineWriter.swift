import Foundation

/// Buffered JSON-lines output to a file or stdout.
public final class LineWriter {
    let handle: FileHandle
    var buffer: [UInt8] = []
    let path: String

    public init(path: String) throws {
        self.path = path
        if path == "-" {
            handle = FileHandle.standardOutput
        } else {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
            }
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        }
        buffer.reserveCapacity(1 << 20)
    }

    public func write(line bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        buffer.append(0x0a)
        if buffer.count >= 1 << 20 { flush() }
    }

    public func write(line text: String) { write(line: Array(text.utf8)) }

    public func flush() {
        guard !buffer.isEmpty else { return }
        handle.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    public func close() throws {
        flush()
        if path != "-" { try handle.close() }
    }
}

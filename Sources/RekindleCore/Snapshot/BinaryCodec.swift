/// Little-endian, length-prefixed binary encoding for snapshots: no dictionaries, no Codable
/// reflection, the same state always gives the same bytes.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }

    /// Unsigned LEB128.
    mutating func varint(_ v: UInt64) {
        var x = v
        while x >= 0x80 {
            bytes.append(UInt8(x & 0x7f) | 0x80)
            x >>= 7
        }
        bytes.append(UInt8(x))
    }

    /// Zig-zag signed LEB128: small magnitudes of either sign stay short.
    mutating func int(_ v: Int64) { varint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }
    mutating func int(_ v: Int) { int(Int64(v)) }
    mutating func int(_ v: Int32) { int(Int64(v)) }

    mutating func optionalInt(_ v: Int64?) {
        bool(v != nil)
        if let v { int(v) }
    }

    mutating func double(_ v: Double) {
        var bits = v.bitPattern
        for _ in 0..<8 {
            bytes.append(UInt8(bits & 0xff))
            bits >>= 8
        }
    }

    mutating func fixed64(_ v: UInt64) {
        var x = v
        for _ in 0..<8 {
            bytes.append(UInt8(x & 0xff))
            x >>= 8
        }
    }

    mutating func string(_ s: String) {
        varint(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    mutating func ints(_ v: [Int32]) {
        varint(UInt64(v.count))
        for x in v { int(x) }
    }

    /// Booleans packed eight to a byte, first in the lowest bit; the reader knows the count.
    mutating func bits(_ v: [Bool]) {
        var byte: UInt8 = 0
        for (k, b) in v.enumerated() {
            if b { byte |= 1 << UInt8(k & 7) }
            if k & 7 == 7 {
                bytes.append(byte)
                byte = 0
            }
        }
        if v.count & 7 != 0 { bytes.append(byte) }
    }
}

/// Why a snapshot could not be read.
public struct SnapshotError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

struct ByteReader {
    let bytes: [UInt8]
    var i = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { i == bytes.count }

    mutating func u8() throws(SnapshotError) -> UInt8 {
        guard i < bytes.count else { throw SnapshotError("truncated at byte \(i)") }
        defer { i += 1 }
        return bytes[i]
    }

    mutating func bool() throws(SnapshotError) -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        default: throw SnapshotError("bad boolean at byte \(i - 1)")
        }
    }

    mutating func varint() throws(SnapshotError) -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try u8()
            guard shift < 64 else { throw SnapshotError("varint too long at byte \(i)") }
            v |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return v }
            shift += 7
        }
    }

    mutating func int() throws(SnapshotError) -> Int64 {
        let z = try varint()
        return Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1)))
    }

    mutating func int32() throws(SnapshotError) -> Int32 {
        let v = try int()
        guard let x = Int32(exactly: v) else { throw SnapshotError("value out of range at byte \(i)") }
        return x
    }

    mutating func count(max: Int = 1 << 31) throws(SnapshotError) -> Int {
        let n = try varint()
        // Each element takes at least a byte: a larger count is corruption, not a big state.
        guard n <= UInt64(bytes.count - i), n <= UInt64(max) else { throw SnapshotError("bad length \(n) at byte \(i)") }
        return Int(n)
    }

    mutating func optionalInt() throws(SnapshotError) -> Int64? { try bool() ? try int() : nil }

    mutating func fixed64() throws(SnapshotError) -> UInt64 {
        guard i + 8 <= bytes.count else { throw SnapshotError("truncated at byte \(i)") }
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(bytes[i + k]) << (8 * UInt64(k)) }
        i += 8
        return v
    }

    mutating func double() throws(SnapshotError) -> Double { Double(bitPattern: try fixed64()) }

    mutating func string() throws(SnapshotError) -> String {
        let n = try count()
        let slice = bytes[i..<(i + n)]
        i += n
        guard let s = String(validating: slice, as: UTF8.self) else { throw SnapshotError("bad UTF-8 at byte \(i - n)") }
        return s
    }

    /// `count` booleans written by `ByteWriter.bits`.
    mutating func bits(count: Int) throws(SnapshotError) -> [Bool] {
        let n = (count + 7) / 8
        guard n <= bytes.count - i else { throw SnapshotError("truncated: \(n) bytes of flags, \(bytes.count - i) left") }
        var out: [Bool] = []
        out.reserveCapacity(count)
        for k in 0..<count { out.append(bytes[i + k / 8] & (1 << UInt8(k & 7)) != 0) }
        i += n
        return out
    }

    mutating func ints() throws(SnapshotError) -> [Int32] {
        let n = try count()
        var out: [Int32] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try int32()) }
        return out
    }
}

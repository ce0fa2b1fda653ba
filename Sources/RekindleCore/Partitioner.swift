/// Which task (partition) owns a customer: Kafka's partitioners, bit for bit (spec section 5).
public enum Partitioner: String, Sendable, CaseIterable {
    /// Java's default (`murmur2` of the key), librdkafka's `murmur2_random`. Rekindle produces with it.
    case murmur2
    /// librdkafka's default `consistent_random` (CRC-32 of the key).
    case crc32

    public func partition(_ key: String, count: Int) -> Int {
        precondition(count > 0)
        switch self {
        case .murmur2: return Int(UInt32(bitPattern: Partitioner.murmur2(Array(key.utf8))) & 0x7fff_ffff) % count
        case .crc32: return Int(Partitioner.crc32(Array(key.utf8)) % UInt32(count))
        }
    }

    /// Kafka's `Utils.murmur2`.
    public static func murmur2(_ data: [UInt8]) -> Int32 {
        let length = data.count
        let m: UInt32 = 0x5bd1_e995
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)
        for i in 0..<(length / 4) {
            let j = i * 4
            var k = UInt32(data[j]) | UInt32(data[j + 1]) << 8 | UInt32(data[j + 2]) << 16 | UInt32(data[j + 3]) << 24
            k &*= m
            k ^= k >> 24
            k &*= m
            h &*= m
            h ^= k
        }
        let tail = length & ~3
        switch length % 4 {
        case 3:
            h ^= UInt32(data[tail + 2]) << 16
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h &*= m
        case 2:
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h &*= m
        case 1:
            h ^= UInt32(data[tail])
            h &*= m
        default: break
        }
        h ^= h >> 13
        h &*= m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// CRC-32 (IEEE, as zlib and librdkafka's `rd_crc32`).
    public static func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data { c = crcTable[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}

@testable import RekindleCore
import RekindleTooling
import Testing

/// The scanner's word-at-a-time pieces against their one-byte-at-a-time definitions.
@Suite struct EventScannerTests {
    static let names: [(String, EventScanner.Key)] = [
        ("type", .type), ("event_id", .eventId), ("customer_id", .customerId), ("occurred_at", .occurredAt),
        ("order_id", .orderId), ("status", .status), ("total", .total), ("currency", .currency),
        ("loyalty_tier", .loyaltyTier), ("items", .items), ("product_id", .productId), ("session_id", .sessionId),
        ("category", .category), ("price", .price), ("message_id", .messageId), ("campaign", .campaign),
        ("trigger_id", .triggerId), ("url", .url), ("quantity", .quantity),
    ]

    static func key(_ name: [UInt8]) -> EventScanner.Key? {
        // Inside a line, as the scanner sees it: quoted, with bytes after it.
        let line = Array("{\"".utf8) + name + Array("\":1}".utf8)
        return line.withUnsafeBufferPointer { EventScanner.key($0, 2, name.count) }
    }

    @Test func everyMemberNameIsKnownAndNoNameOneByteOff() {
        for (name, k) in Self.names {
            let bytes = Array(name.utf8)
            #expect(Self.key(bytes) == k, "\(name)")
            for i in bytes.indices {
                var off = bytes
                off[i] ^= 0x20
                #expect(Self.key(off) == nil, "\(String(decoding: off, as: UTF8.self))")
            }
            #expect(Self.key(bytes + [0x61]) == nil)
            #expect(Self.key(Array(bytes.dropLast())) == nil)
        }
        #expect(Self.key(Array("events_id".utf8)) == nil)
        #expect(Self.key([]) == nil)
    }

    @Test func plainEndFindsTheFirstQuoteBackslashControlOrNonASCIIByte() {
        var rng = SplitMix64(seed: 11)
        let specials: [UInt8] = [0x22, 0x5c, 0x00, 0x1f, 0x0a, 0x80, 0xc3, 0xff]
        for _ in 0..<20_000 {
            let count = Int(rng.next() % 40)
            var bytes = (0..<count).map { _ in UInt8(0x20 + rng.next() % 0x5f) }.map { $0 == 0x22 || $0 == 0x5c ? 0x61 : $0 }
            for _ in 0..<Int(rng.next() % 3) where count > 0 {
                bytes[Int(rng.next() % UInt64(count))] = specials[Int(rng.next() % UInt64(specials.count))]
            }
            let from = count == 0 ? 0 : Int(rng.next() % UInt64(count))
            let expected = bytes[from...].firstIndex { $0 == 0x22 || $0 == 0x5c || $0 < 0x20 || $0 >= 0x80 } ?? count
            #expect(bytes.withUnsafeBufferPointer { EventScanner.plainEnd($0, from: from) } == expected, "\(bytes) from \(from)")
        }
    }
}

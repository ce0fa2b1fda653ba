@testable import RekindleCore
import RekindleTooling
import Testing

/// The writer formats numbers, strings and times by hand into reserved room; every output is
/// byte-compared, so each form must be exactly the one the standard library's formatting gave.
@Suite struct JSONWriterTests {
    static func written(_ body: (inout JSONWriter) -> Void) -> String {
        var w = JSONWriter()
        body(&w)
        return w.string
    }

    @Test func doublesAreWrittenAsSwiftDescribesThem() {
        var rng = SplitMix64(seed: 7)
        var values: [Double] = [
            0, -0.0, 1, -1, 0.1, 0.5, 1800, 2589.99, 0.30000000000000004, 1e15, 1e15 - 1, 999_999_999_999_999.9,
            9_007_199_254_740_992, 1e16, 1e21, 1e22, 1e-3, 0.00099999, 1e-4, 1e-5, 123.456, .leastNonzeroMagnitude,
            .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNormalMagnitude, .pi, 1 / 3, 2.0 / 3,
        ]
        for _ in 0..<100_000 {
            // Any bit pattern; amounts of cents; sums of amounts; hours between two instants.
            values.append(Double(bitPattern: rng.next()))
            let cents = Double(rng.next() % 10_000_000_000)
            values.append(cents / 100)
            values.append(-cents / 100)
            values.append(cents / 100 + Double(rng.next() % 100_000) / 100)
            values.append(Double(rng.next() % 10_000_000_000) / 3_600_000)
            values.append(Double(rng.next() % 1_000_000) / Double(1 + rng.next() % 1_000_000))
            values.append(Double(rng.next() % (1 << 53)) * [1, 10, 100, 1e-6, 1e-12][Int(rng.next() % 5)])
        }
        var wrong: [String] = []
        for d in values {
            let got = Self.written { $0.double(d) }
            if got != JSONWriter.number(d) { wrong.append("\(JSONWriter.number(d)) written as \(got)") }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(10))")
        #expect(Self.written { $0.double(.nan) } == "null")
        #expect(Self.written { $0.double(-.infinity) } == "null")
    }

    @Test func integersAreWrittenAsStringWritesThem() {
        var rng = SplitMix64(seed: 8)
        var values: [Int64] = [0, 1, -1, 9, 10, 99, 100, 101, 999, 1000, .max, .min, .min + 1]
        for _ in 0..<10_000 {
            let v = Int64(bitPattern: rng.next())
            values += [v, v >> (rng.next() % 64)]
        }
        for v in values {
            #expect(Self.written { $0.int(v) } == String(v))
        }
    }

    /// `JSONWriter.quoted` one byte at a time.
    static func reference(_ s: String) -> String {
        var bytes = Array("\"".utf8)
        for c in s.utf8 {
            switch c {
            case 0x22: bytes += Array("\\\"".utf8)
            case 0x5c: bytes += Array("\\\\".utf8)
            case 0x0a: bytes += Array("\\n".utf8)
            case 0x0d: bytes += Array("\\r".utf8)
            case 0x09: bytes += Array("\\t".utf8)
            case 0..<0x20: bytes += Array(("\\u00" + (c < 0x10 ? "0" : "") + String(c, radix: 16)).utf8)
            default: bytes.append(c)
            }
        }
        bytes.append(0x22)
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func stringsOfAnyLengthEscapeWhereverTheSpecialBytesFall() {
        var rng = SplitMix64(seed: 10)
        let pieces = ["a", "b", "Z", "0", " ", "~", "\"", "\\", "\n", "\u{1}", "\u{1f}", "\u{7f}", "é", "漢", "😀"]
        for _ in 0..<20_000 {
            var s = ""
            for _ in 0..<Int(rng.next() % 40) {
                s += rng.next() % 4 == 0 ? pieces[Int(rng.next() % UInt64(pieces.count))] : "x"
            }
            #expect(JSONWriter.quoted(s) == Self.reference(s))
        }
    }

    @Test func stringsEscapeQuotesBackslashesAndControlsOnly() {
        var all = ""
        for scalar in 0..<0x80 { all.unicodeScalars.append(Unicode.Scalar(UInt8(scalar))) }
        all += "é漢字😀\u{7f}\u{2028}"
        // Non-ASCII scalars are passed through as their UTF-8 bytes.
        #expect(JSONWriter.quoted(all) == Self.reference(all))
        #expect(JSONWriter.quoted("") == "\"\"")
        #expect(JSONWriter.quoted(String(repeating: "\u{1}", count: 100)) == "\"" + String(repeating: "\\u0001", count: 100) + "\"")
    }

    @Test func timesAreUTCWithMillisecondsAndClampedToFourDigitYears() {
        var rng = SplitMix64(seed: 9)
        for _ in 0..<10_000 {
            let ms = Int64(rng.next() % UInt64(Timestamp.latest - Timestamp.earliest)) + Timestamp.earliest
            #expect(Timestamp.parse(Timestamp.format(ms)) == ms)
        }
        #expect(Timestamp.format(Timestamp.earliest - 1) == "0000-01-01T00:00:00.000Z")
        #expect(Timestamp.format(.min) == "0000-01-01T00:00:00.000Z")
        #expect(Timestamp.format(.max) == "9999-12-31T23:59:59.999Z")
        #expect(Self.written { $0.time(1_767_225_600_007) } == #""2026-01-01T00:00:00.007Z""#)
        var out: [UInt8] = [0x78]
        Timestamp.append(-62_135_596_800_001, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "x0000-12-31T23:59:59.999Z")
    }

    @Test func aTriggerWithEveryMemberIsWrittenInSpecOrder() {
        let t = Trigger(
            triggerId: "0123456789abcdef0123456789abcdef", ruleId: "view.abandoned", touch: 2, customerId: "c\"1\u{1}",
            firedAt: 1_767_225_600_000, channel: "email",
            customer: CustomerSnapshot(
                completedOrders: 3, lastPurchaseAt: 1_767_225_500_000, totalSpent: 12_345.67,
                fields: [
                    CustomerField("stage", .string("replenish")), CustomerField("vip", .bool(false)),
                    CustomerField("mean", .double(0.1)), CustomerField("n", .int(-4)), CustomerField("at", .time(nil)),
                    CustomerField("since", .time(0)),
                ]),
            offer: Offer(bonusPoints: 180, validUntil: 1_767_225_600_000 + 86_400_000),
            products: [CarriedProduct(productId: "p1", viewedAt: 1_767_225_000_000), CarriedProduct(productId: "p2", viewedAt: 1)],
            recommendations: ["p3", "p4"], conversionWindowDays: 7, rulesVersion: "e39262768f208f04")
        let expected = #"{"trigger_id":"0123456789abcdef0123456789abcdef","rule_id":"view.abandoned","touch":2,"#
            + #""customer_id":"c\"1\u0001","fired_at":"2026-01-01T00:00:00.000Z","channel":"email","#
            + #""customer":{"completed_orders":3,"last_purchase_at":"2025-12-31T23:58:20.000Z","total_spent":12345.67,"#
            + #""stage":"replenish","vip":false,"mean":0.1,"n":-4,"at":null,"since":"1970-01-01T00:00:00.000Z"},"#
            + #""offer":{"bonus_points":180,"valid_until":"2026-01-02T00:00:00.000Z"},"#
            + #""products":[{"product_id":"p1","viewed_at":"2025-12-31T23:50:00.000Z"},{"product_id":"p2","viewed_at":"1970-01-01T00:00:00.001Z"}],"#
            + #""recommendations":["p3","p4"],"conversion_window_days":7,"rules_version":"e39262768f208f04"}"#
        #expect(String(decoding: t.json, as: UTF8.self) == expected)
        // Inside a writer (an array of triggers) it is one value among others.
        let list = Self.written { w in
            w.beginArray()
            t.write(&w)
            w.int(1)
            w.endArray()
        }
        #expect(list == "[" + expected + ",1]")
        var empty = t
        empty.products = []
        empty.recommendations = []
        empty.offer = nil
        empty.customer.fields = []
        #expect(String(decoding: empty.json, as: UTF8.self).contains(#""total_spent":12345.67},"products":[],"recommendations":[],"#))
    }

    @Test func aConversionIsWrittenInSpecOrder() {
        let c = Conversion(
            triggerId: "t", ruleId: "rf.new", touch: 1, customerId: "c1", orderId: "o1", convertedAt: 1_767_225_600_000,
            revenue: 21_870, hoursAfterTrigger: 5.764172222222222)
        var out = Array("x\n".utf8)
        c.appendJSON(to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "x\n" + #"{"trigger_id":"t","rule_id":"rf.new","touch":1,"customer_id":"c1","#
            + #""order_id":"o1","converted_at":"2026-01-01T00:00:00.000Z","revenue":21870.0,"hours_after_trigger":5.764172222222222}"#)
    }
}

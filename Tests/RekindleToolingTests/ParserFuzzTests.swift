import RekindleCore
import Testing

@testable import RekindleTooling

/// The decoder's fast path (`EventScanner`) may change only speed, never an answer: a bounded
/// differential fuzz run, plus named lines of the kinds that break hand-written scanners.
@Suite struct ParserFuzzTests {
    // MARK: - The fuzz run

    /// Each line costs about nine decodes, so a debug build checks some 5,000 lines a second per
    /// core: 3 x 8,000 keeps this to a few seconds. `rekindle fuzz` runs the same for longer.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func aFuzzRunFindsNoDisagreement(seed: UInt64) {
        let r = ParserFuzz.run(seed: seed, iterations: 8_000)
        #expect(r.failures.isEmpty, "\(r.failures.joined(separator: "\n"))")
        // Not vacuous: plenty of lines each way, and the scanner really takes most valid ones.
        #expect(r.lines == 8_000)
        #expect(Double(r.accepted) >= 0.2 * Double(r.lines), "accepted \(r.accepted) of \(r.lines)")
        #expect(Double(r.rejected) >= 0.2 * Double(r.lines), "rejected \(r.rejected) of \(r.lines)")
        #expect(Double(r.fastAccepted) >= 0.5 * Double(r.accepted), "fast-accepted \(r.fastAccepted) of \(r.accepted)")
    }

    @Test func theSameSeedGivesTheSameLines() {
        var a = ParserFuzz(seed: 7), b = ParserFuzz(seed: 7), c = ParserFuzz(seed: 8)
        let linesA = (0..<300).map { _ in a.nextLine() }
        #expect(linesA == (0..<300).map { _ in b.nextLine() })
        #expect(linesA != (0..<300).map { _ in c.nextLine() })
    }

    @Test func everyCorpusLineIsValidAndAgreedOn() {
        for text in ParserFuzz.corpus {
            #expect(ParserFuzz.check(Array(text.utf8), oracle: .valid) == nil)
        }
    }

    /// The oracle is live: a line checked against an event it was not built from fails, and so
    /// does one whose total differs only in the sign of zero (which `==` cannot see).
    @Test func theCheckerCatchesAWrongEventAndTheSignOfZero() throws {
        let line = Array(#"{"type":"order","event_id":"e","customer_id":"c","order_id":"o","status":"paid","occurred_at":"2026-03-01T12:00:00Z","total":-0}"#.utf8)
        var event = try reference(line).get()
        #expect(ParserFuzz.check(line, oracle: .exactly(event)) == nil)
        guard case .order(var order) = event.body else { Issue.record("not an order"); return }
        order.total = 0
        event.body = .order(order)
        #expect(ParserFuzz.check(line, oracle: .exactly(event)) != nil)
        #expect(!ParserFuzz.identical(event, try reference(line).get()))
        #expect(ParserFuzz.check(Array("{".utf8), oracle: .valid) != nil)
    }

    // MARK: - Named tricky lines

    static let base = #""event_id":"e1","customer_id":"c1","occurred_at":"2026-03-01T12:00:00Z""#
    static func order(_ members: String) -> String {
        #"{"type":"order",\#(base),"order_id":"o1","status":"paid","total":1\#(members)}"#
    }
    static func view(_ members: String) -> String {
        #"{"type":"product_view",\#(base),"product_id":"p1"\#(members)}"#
    }

    static let escapeLines = [
        view(#","category":"line\nbreak""#), view(#","category":"say \"hi\"""#), view(#","category":"back\\slash""#),
        view(#","category":"a\/b""#), view(#","category":"caf\u00e9""#), view(#","category":"caf\u00E9""#),
        view(#","category":"\ud83d\ude00""#), view(#","category":"\uD83D\uDE00""#), view(#","category":"\b\f\r\t""#),
        view(#","category":"\u0000""#), view(#","category":"Кириллица""#), view(#","category":"\u041a\u0438""#),
        #"{"type":"product_view","event_id":"e\"1","customer_id":"c\\1","product_id":"p\/1","occurred_at":"2026-03-01T12:00:00Z"}"#,
        #"{"type":"product_\u0076iew",\#(base),"product_id":"p1"}"#,
        #"{"type":"product_view","event_id":"e1","customer_id":"c1","occurred_at":"2026-03-01T12:00:00\u005A","product_id":"p1"}"#,
    ]

    @Test(arguments: escapeLines)
    func eachEscapeFormDecodesAlikeOnBothPaths(line: String) throws {
        let r = try #require(agreed(Array(line.utf8)))
        #expect(throws: Never.self) { try r.get() }
    }

    static let numberForms = [
        "0", "-0", "0.0", "-0.0", "1e3", "1E+3", "1e-3", "2.5e-3", "1990.50", "123456789012345678",
        "1.7976931348623157e308", "0.1", "0.3", "899.99", "123456789012345", "1234567890123456", "999999999999999.9",
        "0.0000000000000000000001", "0.00000000000000000000001", "5e-324", "9007199254740993", "1e22", "1e23", "1e-400",
    ]

    /// Total and price read as exactly `Double(String(literal))`, bit for bit, on both paths.
    @Test(arguments: numberForms)
    func numbersReadAsTheirLiteralExactly(literal: String) throws {
        let expected = try #require(Double(literal))
        let o = try #require(agreed(Array(Self.order(",\"items\":[{\"product_id\":\"p\",\"price\":\(literal)}]").replacingTotal(literal).utf8)))
        guard case .order(let order) = try o.get().body else { Issue.record("not an order"); return }
        #expect(order.total.bitPattern == expected.bitPattern)
        #expect(order.items.first?.price?.bitPattern == expected.bitPattern)
        let v = try #require(agreed(Array(Self.view(",\"price\":\(literal)").utf8)))
        guard case .productView(let view) = try v.get().body else { Issue.record("not a view"); return }
        #expect(view.price?.bitPattern == expected.bitPattern)
    }

    @Test(arguments: ["01", "1.", ".5", "+1", "1e", "-", "1e400", "-1e309", "NaN", "0x10", "1.5.2"])
    func badNumbersAreRejectedAlike(literal: String) throws {
        let r = try #require(agreed(Array(Self.order("").replacingTotal(literal).utf8)))
        #expect(throws: InputError.self) { try r.get() }
    }

    static let duplicateLines = [
        order(#","event_id":"e2""#),
        order(#","event\u005fid":"e2""#),
        #"{"type":"order","event\u005fid":"e0",\#(base),"order_id":"o1","status":"paid","total":1}"#,
        order(#","total":2"#),
        order(#","tot\u0061l":2"#),
        order(#","items":[{"product_id":"p","product_id":"q"}]"#),
        order(#","items":[{"product_id":"p","product\u005fid":"q"}]"#),
        order(#","extra":1,"extra":2"#),
        order(#","extra":1,"ext\u0072a":2"#),
        order(#","extra":{"a":1,"a":2}"#),
        order(#","":1,"":2"#),
        order(#","items":[{"product_id":"p","sku":1,"sku":2}]"#),
    ]

    @Test(arguments: duplicateLines)
    func aRepeatedMemberNameIsRejectedAlikeHoweverSpelled(line: String) throws {
        let r = try #require(agreed(Array(line.utf8)))
        #expect(throws: InputError.self) { try r.get() }
    }

    static let unknownFieldLines = [
        order(#","extra":{"nested":{"deeper":[1,{"a":null}]}},"tags":[],"n":-1.5e-7,"ok":true,"none":null"#),
        order(#","items":[{"product_id":"p","sku":{"x":[1,2]},"type":"ignored","items":"ignored"}]"#),
        order(#","quantity":"not read at the top","price":"not read in an order","url":7"#),
        view(#","order_id":5,"status":"shipped","total":"x","items":[{"quantity":-1}]"#),
        view(#","Type":"order","EVENT_ID":3,"":"","tötal":1,"😀":[]"#),
    ]

    @Test(arguments: unknownFieldLines)
    func unknownMembersAreIgnoredAlike(line: String) throws {
        let r = try #require(agreed(Array(line.utf8)))
        #expect(throws: Never.self) { try r.get() }
    }

    static let invalidUTF8Lines: [[UInt8]] = {
        let head = Array(#"{"type":"product_view","event_id":"e1","customer_id":"c1","occurred_at":"2026-03-01T12:00:00Z","product_id":"p"#.utf8)
        let tail = Array(#""}"#.utf8)
        return [[0xFF], [0x80], [0xC3], [0xC0, 0xAF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
                [0xF0, 0x9F, 0x98], [0xE2, 0x82], [0xF8, 0x88, 0x80, 0x80, 0x80]]
            .map { head + $0 + tail }
            + [head + Array(#"","x"#.utf8) + [0xFF] + Array(#"":1}"#.utf8)]
            + [head + tail + [0xFF]]
    }()

    @Test(arguments: invalidUTF8Lines)
    func invalidUTF8InAStringIsRejectedAlike(line: [UInt8]) throws {
        let r = try #require(agreed(line))
        #expect(throws: InputError.self) { try r.get() }
    }

    @Test(arguments: [#"\ud800"#, #"\udc00"#, #"\uDBFF"#, #"\ud800\u0041"#, #"\ud800\ud800"#, #"\udfff\ud800"#, #"\ud83d"#, #"\ud83d\u"#])
    func loneSurrogatesAreRejectedAlike(escape: String) throws {
        for line in [Self.view(#","category":"a\#(escape)b""#), Self.view(#","a\#(escape)":1"#),
                     #"{"type":"product_view","event_id":"\#(escape)","customer_id":"c1","product_id":"p","occurred_at":"2026-03-01T12:00:00Z"}"#]
        {
            let r = try #require(agreed(Array(line.utf8)))
            #expect(throws: InputError.self) { try r.get() }
        }
    }

    @Test(arguments: ["x", "}", "{}", ",", "\u{0}", "null", "\n{}", "//", "]"])
    func trailingGarbageIsRejectedAlike(garbage: String) throws {
        let r = try #require(agreed(Array((Self.view("") + garbage).utf8)))
        #expect(throws: InputError.self) { try r.get() }
    }

    @Test func trailingWhitespaceIsFine() throws {
        let r = try #require(agreed(Array((" \t" + Self.view("") + " \r\n\t").utf8)))
        #expect(throws: Never.self) { try r.get() }
    }

    /// The top-level object is depth 0 and `JSONParser.maxDepth` is 256, so a member value may nest
    /// 254 containers around a scalar and no more; inside an item, two fewer.
    @Test func deepNestingInAnUnknownMemberIsDecidedAlike() throws {
        func nested(_ levels: Int) -> String {
            String(repeating: #"[{"a":"#, count: levels / 2) + (levels % 2 == 1 ? "[0]" : "0")
                + String(repeating: "}]", count: levels / 2)
        }
        for (levels, valid) in [(253, true), (254, true), (255, false), (400, false)] {
            let r = try #require(agreed(Array(Self.view(",\"deep\":\(nested(levels))").utf8)))
            #expect(valid == ((try? r.get()) != nil), "\(levels) levels")
        }
        for (levels, valid) in [(251, true), (252, true), (253, false)] {
            let r = try #require(agreed(Array(Self.order(#","items":[{"product_id":"p","deep":\#(nested(levels))}]"#).utf8)))
            #expect(valid == ((try? r.get()) != nil), "\(levels) levels in an item")
        }
    }

    /// A valid line over the limit: the scanner declines it, so the answer is the reference path's.
    @Test func aLineOverOneMebibyteIsRejectedAlike() {
        let pad = String(repeating: "x", count: EventDecoder.maxMessageBytes)
        let line = Array(Self.view(#","pad":"\#(pad)""#).utf8)
        line.withUnsafeBufferPointer {
            #expect(EventScanner.scan($0) == nil)
            let production = EventDecoder.decode(bytes: $0)
            #expect(ParserFuzz.same(production, EventDecoder.decodeReference(bytes: $0)))
            #expect(throws: InputError.self) { try production.get() }
        }
    }

    // MARK: - Helpers

    func reference(_ line: [UInt8]) -> Result<Event, InputError> {
        line.withUnsafeBufferPointer { EventDecoder.decodeReference(bytes: $0) }
    }

    /// The reference result, after expecting that both paths (and the scanner alone) agree on the
    /// line for every topic; nil when they do not.
    func agreed(_ line: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Result<Event, InputError>? {
        let failure = ParserFuzz.check(line)
        #expect(failure == nil, "\(failure ?? "")", sourceLocation: sourceLocation)
        let same = line.withUnsafeBufferPointer {
            ParserFuzz.same(EventDecoder.decode(bytes: $0), EventDecoder.decodeReference(bytes: $0))
        }
        #expect(same, sourceLocation: sourceLocation)
        return failure == nil && same ? reference(line) : nil
    }
}

extension String {
    /// The test lines' `"total":1` with another literal in its place.
    fileprivate func replacingTotal(_ literal: String) -> String {
        replacing(#""total":1"#, with: #""total":"# + literal, maxReplacements: 1)
    }
}

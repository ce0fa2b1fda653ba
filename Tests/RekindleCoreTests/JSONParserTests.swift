import RekindleCore
import Testing

@Suite struct JSONParserTests {
    @Test func parsesEscapesUnicodeAndSurrogatePairs() throws {
        let v = try JSONParser.parse(#"{"a":"x\"\\\/\b\f\n\r\tq","b":"\u00e9\u4e2d\ud83d\ude00","c":"привет"}"#)
        #expect(v["a"] == .string("x\"\\/\u{8}\u{c}\n\r\tq"))
        #expect(v["b"] == .string("é中😀"))
        #expect(v["c"] == .string("привет"))
    }

    @Test func parsesNumbersInEveryForm() throws {
        let v = try JSONParser.parse("[0, -0, 12, -3.25, 1e3, 1E+2, 2.5e-3, 123456789012345]")
        #expect(v == .array([.number(0), .number(-0.0), .number(12), .number(-3.25), .number(1000), .number(100),
                             .number(0.0025), .number(123456789012345)]))
    }

    @Test func aRepeatedMemberNameIsRejected() {
        #expect(throws: JSONParseError(message: #"duplicate member name "a""#, offset: 7)) {
            try JSONParser.parse(#"{"a":1,"a":2}"#)
        }
    }

    @Test(arguments: [
        "", "{", "{\"a\":1,}", "[1,]", "{'a':1}", "01", "1.", "-", ".5", "1e", "tru", "nul", "\"abc", "{\"a\" 1}",
        "\"\\ud800\"", "\"\\udc00x\"", "\"a\u{1}b\"", "\"\\x\"", "{} {}", "NaN", "1e999", "[1 2]",
    ])
    func rejectsInvalidJSONWithAReason(text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
    }

    @Test func invalidUTF8InAStringIsAnError() {
        let bytes: [UInt8] = Array(#"{"a":""#.utf8) + [0xff, 0xfe] + Array(#""}"#.utf8)
        #expect(throws: JSONParseError.self) {
            try bytes.withUnsafeBufferPointer { try JSONParser.parse($0) }
        }
    }

    @Test func writerEscapesAndRoundTrips() throws {
        var w = JSONWriter()
        w.value(.object([JSONMember("k\"", .string("a\u{1}\n\\é")), JSONMember("n", .array([.number(1800), .null, .bool(true)]))]))
        #expect(w.string == #"{"k\"":"a\u0001\n\\é","n":[1800.0,null,true]}"#)
        #expect(try JSONParser.parse(w.string)["k\""] == .string("a\u{1}\n\\é"))
    }
}

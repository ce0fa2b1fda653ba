import RekindleCore

/// How the fuzzer changes a line: respellings that keep the event (so the oracle still holds),
/// structural damage to the members, and damage to the raw bytes.
extension ParserFuzz {
    static let kindNames = ["order", "product_view", "email_open", "email_click"]

    /// The decoded string of a JSON string literal, or nil if the text is anything else.
    static func decodedString(_ text: [UInt8]) -> String? {
        guard text.first == UInt8(ascii: "\"") else { return nil }
        if case .string(let s)? = text.withUnsafeBufferPointer({ try? JSONParser.parse($0) }) { return s }
        return nil
    }

    static func isNumberLiteral(_ text: [UInt8]) -> Bool {
        guard let c = text.first else { return false }
        return c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39)
    }

    /// Index of a random member whose value passes `test`, if any does.
    mutating func member(where test: (Member) -> Bool, in d: Draft) -> Int? {
        let candidates = d.members.indices.filter { test(d.members[$0]) }
        return candidates.isEmpty ? nil : rng.pick(candidates)
    }

    // MARK: - Respelling: same event, another spelling

    /// A change that keeps the line valid and its event the same (or updates the oracle to match).
    mutating func respell(_ d: inout Draft) {
        switch rng.int(0...5) {
        case 0:
            guard d.members.count >= 2 else { return }
            d.members.swapAt(rng.below(d.members.count), rng.below(d.members.count))
        case 1:
            let type = d.members.first { $0.name == "type" }.flatMap { Self.decodedString($0.value) }
            let kind = type.flatMap { Self.kindNames.firstIndex(of: $0) } ?? 0
            addUnknown(kind: kind, escapes: rng.chance(0.5) ? 0 : 0.3, spacing: d.spacing, to: &d.members)
        case 2:
            guard !d.members.isEmpty else { return }
            let k = rng.below(d.members.count)
            d.members[k].key = escapedKey(d.members[k].name)
        case 3:
            guard let k = member(where: { Self.decodedString($0.value) != nil }, in: d) else { return }
            d.members[k].value = spell(Self.decodedString(d.members[k].value)!, escapes: rng.pick([0.3, 1.0]))
        case 4:
            guard let k = member(where: { Self.isNumberLiteral($0.value) }, in: d) else { return }
            let n = randomNumber()
            d.members[k].value = Array(n.literal.utf8)
            setNumber(d.members[k].name, n.value, in: &d.oracle)
        default:
            d.spacing = rng.pick(Spacing.allCases)
        }
    }

    /// Moves the oracle's event to a new value of a top-level number the decoder reads. Numbers
    /// of other names (`price` in an order, say) are ignored by the decoder, and by this.
    func setNumber(_ name: String, _ value: Double, in oracle: inout Oracle) {
        guard case .exactly(var e) = oracle else { return }
        switch (name, e.body) {
        case ("total", .order(var o)):
            o.total = value
            e.body = .order(o)
        case ("price", .productView(var v)):
            v.price = value
            e.body = .productView(v)
        default: return
        }
        oracle = .exactly(e)
    }

    // MARK: - Structural damage

    static let otherTypes: [String] = [
        "null", "true", "false", #""str""#, #""""#, "1.5", "-3", "0", "[]", "{}", #"[1,{"a":2}]"#, #"{"a":[null]}"#, #"["x"]"#,
    ]
    /// Number spellings JSON does not allow, or that overflow a double.
    static let badNumbers: [String] = [
        "01", "00", "-01", "-00", "01.5", "1.", "2.", ".5", "-.5", "+1", "1e", "1e+", "1E-", "0e", "1ee3", "1e3.5",
        "1e+-3", "--1", "-", "0x10", "1_000", "Infinity", "-Infinity", "NaN", "1e400", "-1e309", "1.5.2", "1,5",
        "1 2", "0.1e", "١", "1" + String(repeating: "0", count: 400), "1.7976931348623159e308",
    ]
    static let validEscapes: [String] = [
        #"\n"#, #"\""#, #"\\"#, #"\/"#, #"\u00e9"#, #"\u00E9"#, #"\ud83d\ude00"#, #"\uD83D\uDE00"#, #"\u0000"#, #"\b"#,
        #"\f"#, #"\r"#, #"\t"#, #"\u005f"#, #"\uFFFF"#, #"\u0022"#, #"\u005C"#,
    ]
    static let invalidEscapes: [String] = [
        #"\x"#, #"\x41"#, #"\u12"#, #"\u"#, #"\uZZZZ"#, #"\u12G4"#, #"\ud800"#, #"\udc00"#, #"\ud800\u0041"#,
        #"\ud800\ud800"#, #"\uDFFF\uD800"#, #"\ud83d\"#, #"\ud83d\u"#, #"\U00e9"#, #"\'"#, #"\a"#, #"\0"#, #"\"#,
        "\u{0}", "\t", "\n", "\u{1F}",
    ]
    static let badTimes: [String] = [
        "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-03-01T12:00:00", "2026-03-01", "2026-13-01T12:00:00Z",
        "2026-03-01T24:00:00Z", "2026-03-01T12:60:00Z", "2026-03-01T12:00:61Z", "2026-03-01T12:00:00.Z",
        "2026-03-01T12:00:00+0300", "2026-03-01T12:00:00+24:00", "2026-03-01X12:00:00Z", "2026-03-01T12:00:00Zjunk",
        "", "yesterday", "２０２６-03-01T12:00:00Z", "2026-03-01T12:00:00.123+03:00:00", "+2026-03-01T12:00:00Z",
    ]
    static let badStrings: [String] = ["", "shipped", "COMPLETED", "Order", "order ", "refund", "email-open", "product-view"]

    /// A change that probably makes the line invalid (and always forgets the oracle).
    mutating func damage(_ d: inout Draft) {
        d.oracle = .unknown
        guard !d.members.isEmpty else {
            d.members.append(Member(name: "type", key: spell("type", escapes: 0), value: spell("order", escapes: 0)))
            return
        }
        let k = rng.below(d.members.count)
        switch rng.int(0...9) {
        case 0:
            // A repeated name, as written or escaped ("event_id" and "event\u005fid" are one name).
            var copy = d.members[k]
            if rng.chance(0.5) { copy.key = escapedKey(copy.name) }
            if rng.chance(0.3) { copy.value = randomJSON(depth: 1, escapes: 0) }
            d.members.insert(copy, at: rng.int(0...d.members.count))
        case 1:
            d.members.remove(at: k)
        case 2:
            d.members[k].value = rng.chance(0.7) ? Array(rng.pick(Self.otherTypes).utf8) : randomJSON(depth: 2, escapes: 0.1)
        case 3:
            let target = member(where: { Self.isNumberLiteral($0.value) }, in: d) ?? k
            d.members[target].value = Array((rng.chance(0.5) ? rng.pick(Self.badNumbers) : randomNumber().literal).utf8)
        case 4:
            // An escape, valid or not, anywhere inside a string, possibly splitting another escape
            // or a multi-byte scalar; sometimes in a member name.
            let inName = rng.chance(0.25)
            guard let t = inName ? k : member(where: { $0.value.first == UInt8(ascii: "\"") }, in: d) else { return }
            var text = inName ? d.members[t].key : d.members[t].value
            let escape = rng.pick(rng.chance(0.5) ? Self.validEscapes : Self.invalidEscapes)
            text.insert(contentsOf: Array(escape.utf8), at: rng.int(1...max(1, text.count - 1)))
            if inName { d.members[t].key = text } else { d.members[t].value = text }
        case 5:
            // A near miss of the name, or another name the decoder reads (perhaps one already there).
            let name = d.members[k].name
            let renamed: String
            switch rng.int(0...5) {
            case 0: renamed = name.uppercased()
            case 1: renamed = name + rng.pick(["_", " ", "\u{0}", "2"])
            case 2: renamed = String(name.dropLast())
            case 3: renamed = " " + name
            default: renamed = rng.pick(Array(Self.namesByKind.joined()) + ["quantity", "product_id", "price"])
            }
            d.members[k].name = renamed
            d.members[k].key = spell(renamed, escapes: rng.chance(0.8) ? 0 : 0.5)
        case 6:
            // A value the decoder reads, wrong in content rather than in type.
            switch d.members[k].name {
            case "occurred_at": d.members[k].value = spell(rng.pick(Self.badTimes), escapes: 0)
            case "type": d.members[k].value = spell(rng.pick(Self.kindNames + Self.badStrings), escapes: 0)
            case "status":
                d.members[k].value = spell(rng.pick(OrderStatus.allCases.map { String(describing: $0) } + Self.badStrings), escapes: 0)
            default: d.members[k].value = Array(#""""#.utf8)
            }
        case 7:
            guard d.members.count >= 2 else { return }
            let other = rng.below(d.members.count)
            (d.members[k].value, d.members[other].value) = (d.members[other].value, d.members[k].value)
        case 8:
            d.members[k].value = deepValue(legal: false)
        default:
            // An array of items that breaks one item's rules (missing id, fractional or negative count).
            let broken = [
                #"[{"quantity":1}]"#, #"[{"product_id":""}]"#, #"[{"product_id":"p","quantity":1.5}]"#,
                #"[{"product_id":"p","quantity":-1}]"#, #"[{"product_id":"p","quantity":9e15}]"#,
                #"[{"product_id":"p","quantity":"2"}]"#, #"[{"product_id":"p","price":"1"}]"#, #"[1]"#, #"[null]"#,
                #"[{"product_id":"p","product_id":"q"}]"#, #"[{"product_id":"p","product\u005fid":"q"}]"#,
                #"[{"product_id":"p","quantity":1e-7}]"#, #"[{"product_id":"p","quantity":8999999999999999.5}]"#,
                #"[{"product_id":"p"},]"#, #"[{"product_id":"p"}"#, #"{"product_id":"p"}"#,
            ]
            if let t = d.members.firstIndex(where: { $0.name == "items" }) {
                d.members[t].value = Array(rng.pick(broken).utf8)
            } else {
                d.members.append(Member(name: "items", key: spell("items", escapes: 0), value: Array(rng.pick(broken).utf8)))
            }
        }
    }

    // MARK: - Byte damage

    /// Bytes with a role in JSON or UTF-8: structure, escapes, digits, every class of lead and
    /// continuation byte, and bytes that are never valid in UTF-8.
    static let interestingBytes: [UInt8] = [
        0x00, 0x01, 0x08, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x22, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F, 0x30, 0x31, 0x39, 0x3A, 0x45,
        0x5B, 0x5C, 0x5D, 0x65, 0x6E, 0x74, 0x75, 0x7B, 0x7D, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xC3, 0xDF, 0xE0,
        0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xF8, 0xFE, 0xFF,
    ]
    static let snippets: [[UInt8]] = [
        ",", ":", "\"", "\\", "\\u", "null", "}", "]", "{", "[", "{}", "[]", "\"x\":1,", "\"type\":\"order\",",
        "\"event_id\":\"dup\",", ",\"total\":1", "\u{FEFF}", " ", "\t", "\r\n", "e5", "-", ".5", "0", "\"\":",
    ].map { Array($0.utf8) } + [
        [0xE2, 0x82],  // a truncated euro sign
        [0xC0, 0xAF],  // an overlong '/'
        [0xED, 0xA0, 0x80],  // a UTF-16 surrogate encoded as UTF-8
        [0xF4, 0x90, 0x80, 0x80],  // past U+10FFFF
        [0xF0, 0x9F, 0x98],  // a truncated emoji
        [0xE0, 0x80, 0x80],  // an overlong NUL
    ]
    static let garbage: [[UInt8]] = [
        " ", "x", "}", "{}", "\n", ",", "\u{0}", "null", "\n{}", "\u{FEFF}", "  \t", "//", "]", "\"", "1",
    ].map { Array($0.utf8) } + [[0xFF], [0x80], [0xC3]]

    mutating func damage(_ line: inout [UInt8]) {
        let n = line.count
        switch rng.int(0...8) {
        case 0 where n > 0:
            line[rng.below(n)] = rng.chance(0.7) ? rng.pick(Self.interestingBytes) : UInt8(truncatingIfNeeded: rng.next())
        case 1 where n > 0:
            line[rng.below(n)] ^= 1 << UInt8(rng.below(8))
        case 2:
            let insert = rng.chance(0.5) ? [rng.pick(Self.interestingBytes)] : rng.pick(Self.snippets)
            line.insert(contentsOf: insert, at: rng.int(0...n))
        case 3 where n > 0:
            let start = rng.below(n)
            line.removeSubrange(start..<min(n, start + (rng.chance(0.5) ? 1 : rng.int(2...8))))
        case 4 where n > 0:
            line.removeLast(rng.int(1...n))
        case 5:
            line += rng.pick(Self.garbage)
        case 6:
            // The head of this line and the tail of another, cut anywhere or at a comma in both
            // (which tends to give well-formed JSON with missing or repeated members).
            let other = render(rng.chance(0.8) ? generatedDraft() : corpusDraft())
            let commasHere = line.indices.filter { line[$0] == UInt8(ascii: ",") }
            let commasThere = other.indices.filter { other[$0] == UInt8(ascii: ",") }
            if rng.chance(0.5), !commasHere.isEmpty, !commasThere.isEmpty {
                line = Array(line[..<rng.pick(commasHere)] + other[rng.pick(commasThere)...])
            } else {
                line = Array(line[..<rng.int(0...n)] + other[rng.int(0...other.count)...])
            }
        case 7 where n > 0:
            let start = rng.below(n)
            let run = line[start..<min(n, start + rng.int(1...16))]
            line.insert(contentsOf: run, at: rng.int(0...n))
        default:
            // One digit changed: usually still valid, a different number or time.
            let digits = line.indices.filter { line[$0] >= 0x30 && line[$0] <= 0x39 }
            guard !digits.isEmpty else { return }
            line[rng.pick(digits)] = UInt8(0x30 + rng.below(10))
        }
    }
}

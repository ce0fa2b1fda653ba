import RekindleCore

/// The valid lines the fuzzer starts from: events built from random values, each spelled in one of
/// the many legal ways and carrying the event it must decode to, and a hand-written corpus of
/// edge forms.
extension ParserFuzz {
    /// One member of a line's top-level object, kept as its JSON spelling so that mutations can
    /// move, copy and respell members without touching the rest.
    struct Member: Sendable {
        /// The decoded name.
        var name: String
        /// The name as spelled, quotes included (possibly with escapes).
        var key: [UInt8]
        var value: [UInt8]
    }

    /// How much whitespace goes between tokens when a draft is rendered.
    enum Spacing: CaseIterable {
        case compact, spaced, loose
    }

    /// A line before rendering: its top-level members and what is known about it.
    struct Draft {
        var members: [Member]
        var oracle: Oracle
        var spacing: Spacing
    }

    // MARK: - Rendering

    mutating func render(_ d: Draft) -> [UInt8] {
        var out = space(d.spacing, edge: true)
        out += renderObject(d.members, d.spacing)
        out += space(d.spacing, edge: true)
        return out
    }

    mutating func renderObject(_ members: [Member], _ spacing: Spacing) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (k, m) in members.enumerated() {
            if k > 0 {
                out += space(spacing)
                out.append(UInt8(ascii: ","))
            }
            out += space(spacing)
            out += m.key
            out += space(spacing)
            out.append(UInt8(ascii: ":"))
            out += space(spacing)
            out += m.value
        }
        out += space(spacing)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// JSON's four whitespace bytes, and nothing else (a form feed or a no-break space is not one).
    mutating func space(_ spacing: Spacing, edge: Bool = false) -> [UInt8] {
        switch spacing {
        case .compact: return []
        case .spaced: return !edge && rng.chance(0.5) ? [0x20] : []
        case .loose: return (0..<rng.int(0...3)).map { _ in rng.pick([0x20, 0x20, 0x09, 0x0A, 0x0D]) }
        }
    }

    mutating func randomSpacing() -> Spacing {
        switch rng.int(0...19) {
        case 0..<12: return .compact
        case 12..<17: return .spaced
        default: return .loose
        }
    }

    // MARK: - Strings

    /// `s` as a JSON string. Quotes, backslashes and control characters are always escaped (in
    /// either legal form); any other scalar is escaped with probability `escapes`, as `\uXXXX` in
    /// either hex case, a surrogate pair beyond the BMP, or `\/`.
    mutating func spell(_ s: String, escapes: Double) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for scalar in s.unicodeScalars {
            let v = scalar.value
            switch v {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x08, 0x09, 0x0A, 0x0C, 0x0D:
                if rng.chance(0.5) {
                    // The short escape's letter, indexed from 0x08 (0x0B has none and never gets here).
                    out += [0x5C, Array("btn?fr".utf8)[Int(v) - 0x08]]
                } else {
                    out += uEscape(v)
                }
            case 0..<0x20: out += uEscape(v)
            default:
                if escapes == 0 || !rng.chance(escapes) {
                    UTF8.encode(scalar) { out.append($0) }
                } else if v == 0x2F && rng.chance(0.5) {
                    out += [0x5C, 0x2F]
                } else if v > 0xFFFF {
                    let u = v - 0x10000
                    out += uEscape(0xD800 + (u >> 10)) + uEscape(0xDC00 + (u & 0x3FF))
                } else {
                    out += uEscape(v)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    /// `\u` and four hex digits, upper or lower case at random (both are legal, and a scanner
    /// that handles only one must be caught).
    mutating func uEscape(_ v: UInt32) -> [UInt8] {
        let digits = Array((rng.chance(0.5) ? "0123456789abcdef" : "0123456789ABCDEF").utf8)
        return [0x5C, UInt8(ascii: "u")] + [12, 8, 4, 0].map { digits[Int((v >> UInt32($0)) & 15)] }
    }

    /// A member name spelled with at least one escape: `"event\u005fid"` names `event_id`.
    mutating func escapedKey(_ name: String) -> [UInt8] {
        let scalars = Array(name.unicodeScalars)
        guard !scalars.isEmpty else { return Array("\"\"".utf8) }
        let forced = rng.below(scalars.count)
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for (k, scalar) in scalars.enumerated() {
            let inner = spell(String(scalar), escapes: k == forced ? 1 : 0.1)
            out += inner[1..<(inner.count - 1)]
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    static let idAlphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789-_:.".utf8)
    static let plainIds = ["c42", "e-0001", "o-1001", "p7", "msg-1", "x", "0", "null", "true", "-1", "v-0002", "s-88"]
    /// Ids and texts that tend to break hand-written string handling.
    static let trickyTexts = [
        "Кирилл", "клиент-42", "café", "naïve", "e\u{301}", "日本語", "😀", "👩‍👩‍👧", "a\"b", "back\\slash",
        "/path/to", "tab\there", "line\nbreak", "cr\r\nlf", "\u{7F}del", "  spaced  ", "{\"not\":\"json\"}",
        "\u{1}ctl", "\u{0}nul", "\u{8}\u{C}", "\u{FFFF}", "\u{10FFFF}", "\u{E000}", "\u{2028}", "€", "₽",
        "\\u0041", "\\\"", "event_id", "\"", "\\",
    ]
    static let currencies = ["EUR", "USD", "eur", "€", "", "RUB"]
    static let tiers = ["gold", "vip", "VIP", "silver", "", "золото"]
    static let categories = ["shoes", "books & media", "ÉLECTRONIQUE", ""]
    static let urls = ["https://shop.example/p/p7", "https://shop.example/?a=1&b=\"2\"", "http://пример.рф/", "", "mailto:x@y"]

    /// Mostly short plain ids (the common case the fast path is for), sometimes tricky ones.
    mutating func randomText() -> String {
        switch rng.int(0...99) {
        case 0..<55:
            return String(decoding: (0..<rng.int(1...16)).map { _ in rng.pick(Self.idAlphabet) }, as: UTF8.self)
        case 55..<75: return rng.pick(Self.plainIds)
        case 75..<92: return rng.pick(Self.trickyTexts)
        case 92..<99:
            // A mixture of pieces, so escapes and multi-byte scalars meet at every position.
            return (0..<rng.int(2...6)).map { _ in rng.pick(Self.trickyTexts + Self.plainIds) }.joined()
        default:
            return String(repeating: rng.pick(["x", "é", "😀", "\\"]), count: rng.int(100...400))
        }
    }

    // MARK: - Numbers

    /// Literals in every form JSON allows, chosen to sit on the edges of fast number conversions:
    /// 15 and 16 significant digits, 22 and 23 fraction digits, exponents, the smallest subnormal,
    /// the largest double, values that round, and negative zero.
    static let numberForms = [
        "0", "-0", "0.0", "-0.0", "0e0", "0E+0", "-0e-0", "1", "-3", "1e3", "1E+3", "1e+3", "1E3", "2.5e-3",
        "2.5E-03", "1990.50", "123456789012345678", "1.7976931348623157e308", "-1.7976931348623157E+308", "0.1",
        "0.2", "0.3", "900", "900.0", "899.99", "-15.5", "1.5e3", "129.9", "645.25", "5e-324",
        "4.9406564584124654e-324", "2.2250738585072014e-308", "2.2250738585072011e-308", "9007199254740992",
        "9007199254740993", "9007199254740993.0", "123456789012345", "123456789012345.6", "999999999999999",
        "9999999999999999", "99999999999999999999", "0.000000000000000000001", "0.0000000000000000000001",
        "0.00000000000000000000001", "1234567.000000000000001", "1e22", "1e23", "1e-22", "12345678901234567890",
        "1.0000000000000002", "0.30000000000000004", "100000000000000000000000", "1e308", "-1e308", "1E-7",
        "3.141592653589793", "2.718281828459045235360287", "0.12345678901234567890123", "1e-400", "-1e-400",
        "0.000001", "4.35", "8.875", "1.005", "1234.5678", "0.5", "-0.5", "100", "1e0", "1e-0", "1E00",
    ]

    /// A valid number literal and the double it must read as: `Double(String(literal))`, the
    /// conversion the spec means, computed here independently of both decoder paths.
    mutating func randomNumber() -> (literal: String, value: Double) {
        if rng.chance(0.4) {
            let literal = rng.pick(Self.numberForms)
            return (literal, Double(literal)!)
        }
        while true {
            var literal = rng.chance(0.2) ? "-" : ""
            if rng.chance(0.25) {
                literal += "0"
            } else {
                literal += String(rng.int(1...9))
                // Mostly short (prices), sometimes right at or past the 15/16/19-digit edges.
                let more = rng.chance(0.8) ? rng.int(0...6) : rng.int(13...22)
                for _ in 0..<more { literal += String(rng.int(0...9)) }
            }
            if rng.chance(0.6) {
                literal += "."
                let fraction = rng.chance(0.8) ? rng.int(1...4) : rng.int(5...26)
                for _ in 0..<fraction { literal += String(rng.int(0...9)) }
            }
            if rng.chance(0.15) {
                literal += rng.pick(["e", "E"]) + rng.pick(["", "+", "-"])
                let exponent = rng.chance(0.7) ? rng.int(0...25) : rng.int(0...330)
                literal += (rng.chance(0.1) ? "0" : "") + String(exponent)
            }
            // The reference path rejects what overflows to infinity: not a valid line.
            if let value = Double(literal), value.isFinite { return (literal, value) }
        }
    }

    static let quantityForms = ["0", "1", "2", "3", "10", "2.0", "1e1", "-0", "3E0", "1.0e2", "100000", "0.0", "5.00",
                                "8999999999999998", "1e15", "20e-1"]

    /// A count the reference accepts (a whole number, at least zero, below 9e15) and its value.
    mutating func randomQuantity() -> (literal: String, value: Int64) {
        let literal = rng.chance(0.3) ? String(rng.int(0...50)) : rng.pick(Self.quantityForms)
        return (literal, Int64(Double(literal)!))
    }

    // MARK: - Times

    static let timeForms = [
        "2026-03-01T12:00:00Z", "2026-03-01T12:05:00.5Z", "2026-03-03T03:00:00.000+03:00",
        "2026-03-20T08:30:15.123456-05:00", "2026-03-21t00:00:00z", "2026-03-22 10:00:00+00:00",
        "2026-02-28T23:59:60Z", "2024-02-29T00:00:00Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z",
        "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.9999999+23:59", "2026-04-03T18:45:30.999-00:30",
        "2026-05-17T02:15:00.25+03:00", "2000-02-29T12:00:00.1-23:59",
    ]

    /// A valid RFC 3339 time and its instant. The instant comes from `Timestamp.parse`, which both
    /// paths share: the fuzzer tests the paths' plumbing of the text, not the calendar arithmetic.
    mutating func randomTime() -> (text: String, millis: Millis) {
        var text: String
        if rng.chance(0.3) {
            text = rng.pick(Self.timeForms)
        } else {
            func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
            let year = rng.chance(0.9) ? rng.int(1970...2100) : rng.int(0...9999)
            let month = rng.int(1...12)
            let day = rng.int(1...Timestamp.daysInMonth(year, month))
            let y = String(year)
            text = String(repeating: "0", count: 4 - y.count) + y + "-" + two(month) + "-" + two(day)
            text += rng.pick(["T", "T", "T", "t", " "])
            text += two(rng.int(0...23)) + ":" + two(rng.int(0...59)) + ":" + two(rng.int(0...60))
            if rng.chance(0.4) {
                text += "." + (0..<rng.int(1...9)).map { _ in String(rng.int(0...9)) }.joined()
            }
            if rng.chance(0.6) {
                text += rng.pick(["Z", "Z", "z"])
            } else {
                text += rng.pick(["+", "-"]) + two(rng.int(0...23)) + ":" + two(rng.int(0...59))
            }
        }
        return (text, Timestamp.parse(text)!)
    }

    // MARK: - Generated events

    /// A valid event of a random kind, with its oracle.
    mutating func generatedDraft() -> Draft {
        let spacing = randomSpacing()
        // Most lines spell strings plainly (the fast path's common case); some escape freely.
        let escapes = rng.chance(0.8) ? 0 : rng.pick([0.05, 0.3, 1.0])
        var members: [Member] = []
        let kind = rng.int(0...3)
        let typeName = ["order", "product_view", "email_open", "email_click"][kind]
        add("type", spell(typeName, escapes: escapes), to: &members)
        let eventId = randomId(escapes, "event_id", &members)
        let customerId = randomId(escapes, "customer_id", &members)
        let time = randomTime()
        add("occurred_at", spell(time.text, escapes: rng.chance(0.95) ? 0 : 0.3), to: &members)
        let body: Event.Body
        switch kind {
        case 0:
            let orderId = randomId(escapes, "order_id", &members)
            let status = rng.pick(OrderStatus.allCases)
            add("status", spell(String(describing: status), escapes: escapes), to: &members)
            let total = randomNumber()
            add("total", Array(total.literal.utf8), to: &members)
            let currency = optionalString("currency", Self.currencies, escapes, &members)
            var items: [OrderItem] = []
            switch rng.int(0...9) {
            case 0..<3: break
            case 3: add("items", Array("null".utf8), to: &members)
            default:
                let (text, list) = randomItems(escapes, spacing)
                add("items", text, to: &members)
                items = list
            }
            let tier = optionalString("loyalty_tier", Self.tiers, escapes, &members)
            body = .order(OrderEvent(orderId: orderId, status: status, total: total.value, currency: currency,
                                     items: items, loyaltyTier: tier))
        case 1:
            let productId = randomId(escapes, "product_id", &members)
            let session = optionalString("session_id", [], escapes, &members)
            let category = optionalString("category", Self.categories, escapes, &members)
            var price: Double?
            switch rng.int(0...9) {
            case 0..<4: break
            case 4..<6: add("price", Array("null".utf8), to: &members)
            default:
                let n = randomNumber()
                add("price", Array(n.literal.utf8), to: &members)
                price = n.value
            }
            body = .productView(ProductViewEvent(productId: productId, sessionId: session, category: category, price: price))
        default:
            let messageId = randomId(escapes, "message_id", &members)
            let campaign = optionalString("campaign", ["spring", "winback-2026", ""], escapes, &members)
            let trigger = optionalString("trigger_id", ["0b6f1e0f2d4c3a59e8f7a6b5c4d3e2f1"], escapes, &members)
            let url = optionalString("url", Self.urls, escapes, &members)
            body = .email(EmailEvent(clicked: kind == 3, messageId: messageId, campaign: campaign, triggerId: trigger, url: url))
        }
        // Members the decoder does not read: ignored by the reference, and must be by the scanner.
        for _ in 0..<(rng.chance(0.3) ? rng.int(1...3) : 0) {
            addUnknown(kind: kind, escapes: escapes, spacing: spacing, to: &members)
        }
        if rng.chance(0.4) { rng.shuffle(&members) }
        let event = Event(eventId: eventId, customerId: customerId, occurredAt: time.millis, body: body)
        return Draft(members: members, oracle: .exactly(event), spacing: spacing)
    }

    /// Appends a member, now and then under an escaped spelling of its name.
    mutating func add(_ name: String, _ value: [UInt8], to members: inout [Member]) {
        let key = rng.chance(0.012) ? escapedKey(name) : spell(name, escapes: 0)
        members.append(Member(name: name, key: key, value: value))
    }

    mutating func randomId(_ escapes: Double, _ name: String, _ members: inout [Member]) -> String {
        var id = randomText()
        if id.isEmpty { id = "x" }
        add(name, spell(id, escapes: escapes), to: &members)
        return id
    }

    /// An optional string member: absent, null, or a value (returned).
    mutating func optionalString(_ name: String, _ pool: [String], _ escapes: Double, _ members: inout [Member]) -> String? {
        switch rng.int(0...19) {
        case 0..<9: return nil
        case 9..<12:
            add(name, Array("null".utf8), to: &members)
            return nil
        default:
            let s = !pool.isEmpty && rng.chance(0.7) ? rng.pick(pool) : randomText()
            add(name, spell(s, escapes: escapes), to: &members)
            return s
        }
    }

    mutating func randomItems(_ escapes: Double, _ spacing: Spacing) -> ([UInt8], [OrderItem]) {
        var items: [OrderItem] = []
        var text: [UInt8] = [UInt8(ascii: "[")]
        for k in 0..<rng.int(0...4) {
            if k > 0 { text.append(UInt8(ascii: ",")) }
            text += space(spacing)
            var members: [Member] = []
            let productId = randomId(escapes, "product_id", &members)
            var item = OrderItem(productId: productId)
            switch rng.int(0...5) {
            case 0, 1: break
            case 2: add("quantity", Array("null".utf8), to: &members)
            default:
                let q = randomQuantity()
                add("quantity", Array(q.literal.utf8), to: &members)
                item.quantity = q.value
            }
            switch rng.int(0...5) {
            case 0, 1: break
            case 2: add("price", Array("null".utf8), to: &members)
            default:
                let n = randomNumber()
                add("price", Array(n.literal.utf8), to: &members)
                item.price = n.value
            }
            if rng.chance(0.15) {
                // Names only an order reads at its top level mean nothing inside an item.
                let name = rng.pick(["sku", "type", "total", "items", "event_id", "Product_id", ""])
                add(name, randomJSON(depth: 2, escapes: escapes), to: &members)
            }
            rng.shuffle(&members)
            text += renderObject(members, spacing)
            items.append(item)
        }
        text += space(spacing)
        text.append(UInt8(ascii: "]"))
        return (text, items)
    }

    /// Names no event kind reads, near misses of ones they do, and (per kind) the names other kinds
    /// read, which the scanner matches but this kind's decoding must ignore.
    static let unknownNames = ["channel", "extra", "sku", "ua", "referrer", "meta", "Type", "EVENT_ID", "event_id2",
                               "eventid", "items_", "", "q", "tötal", "😀", "a\\b", "quantity", "event_i", "totals"]
    static let namesByKind: [[String]] = [
        ["type", "event_id", "customer_id", "occurred_at", "order_id", "status", "total", "currency", "items", "loyalty_tier"],
        ["type", "event_id", "customer_id", "occurred_at", "product_id", "session_id", "category", "price"],
        ["type", "event_id", "customer_id", "occurred_at", "message_id", "campaign", "trigger_id", "url"],
        ["type", "event_id", "customer_id", "occurred_at", "message_id", "campaign", "trigger_id", "url"],
    ]

    /// Per kind, the names only other kinds read.
    static let foreignNames: [[String]] = namesByKind.map { Set(namesByKind.joined()).subtracting($0).sorted() }

    /// Adds a member the event's kind does not read, under a name not yet used.
    mutating func addUnknown(kind: Int, escapes: Double, spacing: Spacing, to members: inout [Member]) {
        for _ in 0..<8 {
            let crossKind = rng.chance(0.4)
            let name = crossKind ? rng.pick(Self.foreignNames[kind]) : rng.pick(Self.unknownNames)
            guard !members.contains(where: { $0.name == name }) else { continue }
            var value: [UInt8]
            if crossKind && rng.chance(0.7) {
                // Well typed for the kind that reads it, so the scanner still accepts the line.
                switch name {
                case "total", "price": value = Array(randomNumber().literal.utf8)
                case "items": value = randomItems(escapes, spacing).0
                default: value = spell(randomText(), escapes: escapes)
                }
            } else if rng.chance(0.03) {
                value = deepValue(legal: true)
            } else {
                value = randomJSON(depth: 3, escapes: escapes)
            }
            add(name, value, to: &members)
            return
        }
    }

    /// Any JSON value, nested at most `depth` deep, with unique names in each object.
    mutating func randomJSON(depth: Int, escapes: Double) -> [UInt8] {
        switch rng.int(depth > 0 ? 0...7 : 0...4) {
        case 0: return Array("null".utf8)
        case 1: return Array((rng.chance(0.5) ? "true" : "false").utf8)
        case 2: return Array(randomNumber().literal.utf8)
        case 3, 4: return spell(randomText(), escapes: escapes)
        case 5:
            var out: [UInt8] = [UInt8(ascii: "[")]
            for k in 0..<rng.int(0...3) {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                out += randomJSON(depth: depth - 1, escapes: escapes)
            }
            return out + [UInt8(ascii: "]")]
        default:
            var out: [UInt8] = [UInt8(ascii: "{")]
            var used: Set<String> = []
            for _ in 0..<rng.int(0...3) {
                let name = rng.chance(0.5) ? rng.pick(Self.unknownNames + ["type", "event_id", "total"]) : randomText()
                guard used.insert(name).inserted else { continue }
                if out.count > 1 { out.append(UInt8(ascii: ",")) }
                out += spell(name, escapes: escapes) + [UInt8(ascii: ":")] + randomJSON(depth: depth - 1, escapes: escapes)
            }
            return out + [UInt8(ascii: "}")]
        }
    }

    /// Nesting near `JSONParser.maxDepth`: a top-level member's value (at depth 1) may hold 254
    /// containers around a scalar and no more. `legal` keeps to that; otherwise it is 254, 255
    /// or 256 levels, where an off-by-one in either path's depth count shows.
    mutating func deepValue(legal: Bool) -> [UInt8] {
        let levels = legal ? (rng.chance(0.5) ? rng.int(246...254) : rng.int(20...200)) : rng.int(254...256)
        var open: [UInt8] = [], close: [UInt8] = []
        for _ in 0..<levels {
            if rng.chance(0.5) {
                open += Array("[".utf8)
                close += Array("]".utf8)
            } else {
                open += Array("{\"a\":".utf8)
                close += Array("}".utf8)
            }
        }
        return open + Array("0".utf8) + close.reversed()
    }

    // MARK: - Hand-written corpus

    /// Valid lines of every kind and edge form, each taken apart into members and re-rendered with
    /// random spacing; the reference path must accept each as written.
    static let corpus: [String] = [
        // The schema examples (Tests/schema/examples/valid_events.jsonl).
        #"{"type":"order","event_id":"e-0001","customer_id":"c42","order_id":"o-1001","status":"created","occurred_at":"2026-03-01T12:00:00Z","total":900.0}"#,
        #"{"type":"order","event_id":"e-0002","customer_id":"c42","order_id":"o-1001","status":"paid","occurred_at":"2026-03-01T12:05:00.5Z","total":900,"currency":"EUR"}"#,
        #"{"type":"order","event_id":"e-0003","customer_id":"c42","order_id":"o-1001","status":"completed","occurred_at":"2026-03-03T03:00:00.000+03:00","total":900.0,"currency":"EUR","items":[{"product_id":"p7","quantity":2,"price":300.0},{"product_id":"p9","quantity":1,"price":300}],"loyalty_tier":"gold"}"#,
        #"{"type":"order","event_id":"e-0004","customer_id":"c42","order_id":"o-1002","status":"completed","occurred_at":"2026-03-20T08:30:15.123456-05:00","total":899.99,"currency":null,"items":null,"loyalty_tier":null}"#,
        #"{"type":"order","event_id":"e-0005","customer_id":"c43","order_id":"o-2001","status":"cancelled","occurred_at":"2026-03-21t00:00:00z","total":0}"#,
        #"{"type":"order","event_id":"e-0006","customer_id":"c43","order_id":"o-2002","status":"returned","occurred_at":"2026-03-22 10:00:00+00:00","total":-15.5,"items":[],"loyalty_tier":"vip"}"#,
        #"{"type":"order","event_id":"e-0007","customer_id":"c44","order_id":"o-3001","status":"completed","occurred_at":"2026-02-28T23:59:60Z","total":1.5e3,"items":[{"product_id":"p1"},{"product_id":"p2","quantity":null,"price":null},{"product_id":"p3","quantity":0,"price":12.5,"sku":"X-3"}],"channel":"web","extra":{"nested":true}}"#,
        #"{"type":"product_view","event_id":"v-0001","customer_id":"c42","product_id":"p7","occurred_at":"2026-05-16T23:10:00Z"}"#,
        #"{"type":"product_view","event_id":"v-0002","customer_id":"c42","product_id":"p3","occurred_at":"2026-05-17T02:15:00.25+03:00","session_id":"s-88","category":"shoes","price":129.9}"#,
        #"{"type":"product_view","event_id":"v-0003","customer_id":"c45","product_id":"p9","occurred_at":"2026-05-17T00:00:00.000Z","session_id":null,"category":null,"price":null,"referrer":"search"}"#,
        #"{"type":"email_open","event_id":"m-0001","customer_id":"c42","message_id":"msg-1","occurred_at":"2026-04-01T09:00:00Z"}"#,
        #"{"type":"email_open","event_id":"m-0002","customer_id":"c42","message_id":"msg-2","occurred_at":"2026-04-02T12:00:00.1+03:00","campaign":"spring","trigger_id":"0b6f1e0f2d4c3a59e8f7a6b5c4d3e2f1","url":null}"#,
        #"{"type":"email_click","event_id":"m-0003","customer_id":"c46","message_id":"msg-3","occurred_at":"2026-04-03T18:45:30.999-00:30","campaign":null,"trigger_id":null,"url":"https://shop.example/p/p7"}"#,
        #"{"type":"email_click","event_id":"m-0004","customer_id":"c46","message_id":"msg-4","occurred_at":"2024-02-29T00:00:00Z","url":"https://shop.example/","ua":"Mozilla/5.0"}"#,
        // Every escape form, in values.
        #"{"type":"product_view","event_id":"v\n1","customer_id":"c\"42\"","product_id":"p\\7","occurred_at":"2026-05-16T23:10:00Z","category":"a\/b","session_id":"caf\u00e9 \ud83d\ude00 \u00E9\u20AC \uD83D\uDE00"}"#,
        #"{"type":"email_click","event_id":"m\t\b\f\r","customer_id":"\u0063\u0034\u0032","message_id":"\u0000nul","occurred_at":"2026-04-03T18:45:30.999-00:30","url":"https:\/\/shop.example\/p?q=\"x\"&r=\\"}"#,
        #"{"type":"order","event_id":"\"","customer_id":"\\","order_id":"\/","status":"\u0070aid","occurred_at":"2026-03-01T12:00:00Z","total":1,"currency":"\u20ac","loyalty_tier":"\u0076\u0069\u0070"}"#,
        #"{"type":"email_open","event_id":"\ud83d\ude00","customer_id":"\uDBFF\uDFFF","message_id":"\u007f\u0080\u07ff\u0800\uffff","occurred_at":"2026-04-01T09:00:00Z"}"#,
        // Raw non-ASCII UTF-8 (Cyrillic, CJK, emoji, a combining mark).
        #"{"type":"order","event_id":"е-кириллица","customer_id":"клиент-42","order_id":"заказ-1","status":"paid","occurred_at":"2026-03-01T12:00:00Z","total":10,"currency":"₽","loyalty_tier":"золото 😀"}"#,
        #"{"type":"product_view","event_id":"日本語","customer_id":"e\#u{301}","product_id":"👩‍👩‍👧","occurred_at":"2026-05-16T23:10:00Z","category":"ÉLECTRONIQUE"}"#,
        // Numbers in every form.
        #"{"type":"order","event_id":"e-n1","customer_id":"c1","order_id":"o1","status":"paid","occurred_at":"2026-03-01T12:00:00Z","total":-0,"items":[{"product_id":"a","price":0},{"product_id":"b","price":1e3},{"product_id":"c","price":1E+3},{"product_id":"d","price":2.5e-3},{"product_id":"e","price":1990.50},{"product_id":"f","price":123456789012345678},{"product_id":"g","price":1.7976931348623157e308},{"product_id":"h","price":0.1,"quantity":2.0},{"product_id":"i","quantity":1e1,"price":5e-324},{"product_id":"j","quantity":-0,"price":-0.0}]}"#,
        #"{"type":"order","event_id":"e-n2","customer_id":"c1","order_id":"o1","status":"paid","occurred_at":"2026-03-01T12:00:00Z","total":1.7976931348623157e308}"#,
        #"{"type":"order","event_id":"e-n3","customer_id":"c1","order_id":"o1","status":"paid","occurred_at":"2026-03-01T12:00:00Z","total":123456789012345678}"#,
        #"{"type":"order","event_id":"e-n4","customer_id":"c1","order_id":"o1","status":"paid","occurred_at":"2026-03-01T12:00:00Z","total":2.5e-3}"#,
        #"{"type":"order","event_id":"e-n5","customer_id":"c1","order_id":"o1","status":"paid","occurred_at":"2026-03-01T12:00:00Z","total":1E+3}"#,
        #"{"type":"order","event_id":"e-n6","customer_id":"c1","order_id":"o1","status":"paid","occurred_at":"2026-03-01T12:00:00Z","total":0.1}"#,
        #"{"type":"product_view","event_id":"v-n7","customer_id":"c1","product_id":"p","occurred_at":"2026-03-01T12:00:00Z","price":1990.50}"#,
        #"{"type":"product_view","event_id":"v-n8","customer_id":"c1","product_id":"p","occurred_at":"2026-03-01T12:00:00Z","price":-0}"#,
        // Fields in another order, unknown members of every shape, and the names of other kinds.
        #"{"total":1290.5,"items":[{"price":645.25,"quantity":2,"product_id":"p1"},{"product_id":"p2"}],"status":"completed","occurred_at":"2026-03-01T15:00:00.250+03:00","order_id":"o1","customer_id":"c1","event_id":"e1","type":"order"}"#,
        #"{"meta":{"a":[1,2,{"b":null,"c":[true,false]}],"d":{},"type":"x"},"tags":[],"n":-1.5e-7,"ok":true,"nothing":null,"type":"email_open","event_id":"m1","customer_id":"c1","message_id":"x","occurred_at":"2026-04-01T09:00:00Z","items":[{"product_id":""}],"total":"free","quantity":-1,"order_id":7}"#,
        #"{"type":"product_view","event_id":"v1","customer_id":"c1","product_id":"p1","occurred_at":"2026-03-01T12:00:00Z","order_id":"o","status":"shipped","total":1,"items":[{"product_id":"x","quantity":1.5}],"message_id":"m","":0,"Type":"order","quantity":"many"}"#,
        #"{"type":"order","event_id":"e1","customer_id":"c1","order_id":"o1","status":"paid","occurred_at":"2026-03-01T12:00:00Z","total":1,"price":"n/a","product_id":"","url":9,"items":[{"product_id":"p","type":"x","total":null,"items":[1],"event_id":{}}]}"#,
        // Whitespace around every token, including tabs, CR and LF.
        " \t{ \"type\" : \"product_view\" ,\n \"event_id\" :\r\n\"v1\"\t,\"customer_id\":\"c1\" , \"product_id\" : \"p1\" ,\"occurred_at\"\n:\n\"2026-03-01T12:00:00Z\" , \"price\" : 1.5 } \r\n",
        "{\"type\":\"order\" , \"event_id\":\"e1\",\"customer_id\":\"c1\",\"order_id\":\"o1\",\"status\":\"paid\",\"occurred_at\":\"2026-03-01T12:00:00Z\",\"total\": 2 ,\"items\" : [ { \"product_id\" : \"p\" , \"quantity\" : 3 } , { \"product_id\":\"q\" } ] }",
        // Null for every optional field.
        #"{"type":"email_click","event_id":"m1","customer_id":"c1","message_id":"m","occurred_at":"2026-04-01T09:00:00Z","campaign":null,"trigger_id":null,"url":null}"#,
        #"{"type":"order","event_id":"e1","customer_id":"c1","order_id":"o1","status":"returned","occurred_at":"2026-03-01T12:00:00Z","total":3,"currency":null,"items":[{"product_id":"p","quantity":null,"price":null}],"loyalty_tier":null}"#,
        // Escaped member names.
        #"{"type":"order","event\u005fid":"e1","customer\u005Fid":"c1","\u006frder_id":"o1","status":"paid","occurred_at":"2026-03-01T12:00:00Z","tot\u0061l":5,"items":[{"product\u005fid":"p","qu\u0061ntity":2}]}"#,
        #"{"\u0074ype":"product_view","event_id":"v1","customer_id":"c1","product_id":"p1","occurred\u005Fat":"2026-03-01T12:00:00Z","pr\u0069ce":7}"#,
        // Escapes in the time and the type (legal: the decoded string is what counts).
        #"{"type":"email_open","event_id":"m1","customer_id":"c1","message_id":"m","occurred_at":"2026-04-01T09:00:00\u005a"}"#,
        #"{"type":"email\u005fclick","event_id":"m1","customer_id":"c1","message_id":"m","occurred_at":"2026\u002d04-01T09:00:00Z"}"#,
        // Deep nesting in an unknown member, within the limit.
        #"{"type":"email_open","event_id":"m1","customer_id":"c1","message_id":"m","occurred_at":"2026-04-01T09:00:00Z","deep":"#
            + String(repeating: "[", count: 254) + "0" + String(repeating: "]", count: 254) + "}",
        #"{"type":"email_open","event_id":"m1","customer_id":"c1","message_id":"m","occurred_at":"2026-04-01T09:00:00Z","deep":"#
            + String(repeating: #"{"a":"#, count: 200) + "null" + String(repeating: "}", count: 200) + "}",
    ]

    static let corpusMembers: [[Member]] = corpus.map { split(Array($0.utf8)) }

    mutating func corpusDraft() -> Draft {
        Draft(members: rng.pick(Self.corpusMembers), oracle: .valid, spacing: randomSpacing())
    }

    /// The members of a valid JSON object's text, each spelling kept as written.
    static func split(_ b: [UInt8]) -> [Member] {
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }
        /// The index just past the string that opens at `start`.
        func endOfString(_ start: Int) -> Int {
            var i = start + 1
            while b[i] != UInt8(ascii: "\"") { i += b[i] == UInt8(ascii: "\\") ? 2 : 1 }
            return i + 1
        }
        var i = 0
        var members: [Member] = []
        while isSpace(b[i]) { i += 1 }
        i += 1  // {
        while true {
            while isSpace(b[i]) { i += 1 }
            if b[i] == UInt8(ascii: "}") { return members }
            let keyStart = i
            i = endOfString(i)
            let key = Array(b[keyStart..<i])
            while b[i] != UInt8(ascii: ":") { i += 1 }
            i += 1
            while isSpace(b[i]) { i += 1 }
            let valueStart = i
            var depth = 0
            scan: while true {
                switch b[i] {
                case UInt8(ascii: "\""):
                    i = endOfString(i)
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { break scan }
                    depth -= 1
                case UInt8(ascii: ","): if depth == 0 { break scan }
                default: break
                }
                i += 1
            }
            var valueEnd = i
            while isSpace(b[valueEnd - 1]) { valueEnd -= 1 }
            let name: String
            if case .string(let s)? = key.withUnsafeBufferPointer({ try? JSONParser.parse($0) }) { name = s } else { name = "" }
            members.append(Member(name: name, key: key, value: Array(b[valueStart..<valueEnd])))
            if b[i] == UInt8(ascii: ",") { i += 1 }
        }
    }
}

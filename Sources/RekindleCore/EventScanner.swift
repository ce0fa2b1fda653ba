/// The fast path of `EventDecoder`: one pass over a line's bytes straight into an `Event`, with no
/// `JSONValue` tree and no String per member name (member names are matched as bytes).
///
/// It accepts only what it fully understands and returns nil on anything else: any syntax or type
/// error, a member name with an escape or a non-ASCII byte, a value of an unexpected kind. The
/// decoder then runs the reference path, which decides and words the reason. So the two paths can
/// differ only in speed; the differential fuzz test (`ParserFuzz`, `rekindle fuzz`) holds it to that.
/// Strings, numbers and literals are read by the reference parser's own `Cursor`, so escapes,
/// UTF-8 validation and number syntax are one piece of code for both paths.
public enum EventScanner {
    /// The member names the decoder reads; a bit each in `Fields.seen`.
    enum Key: Int {
        case type, eventId, customerId, occurredAt, orderId, status, total, currency, loyaltyTier, items
        case productId, sessionId, category, price, messageId, campaign, triggerId, url, quantity
    }

    /// Matches a member name's raw bytes (no escapes) against the names the decoder reads: by
    /// length, then a word or two compared at once.
    static func key(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ n: Int) -> Key? {
        let name = UnsafeRawPointer(b.baseAddress! + s)
        @inline(__always) func eq(_ word: StaticString) -> Bool {
            let w = UnsafeRawPointer(word.utf8Start)
            if n >= 8 {
                return name.loadUnaligned(as: UInt64.self) == w.loadUnaligned(as: UInt64.self)
                    && name.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == w.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            }
            if n >= 4 {
                return name.loadUnaligned(as: UInt32.self) == w.loadUnaligned(as: UInt32.self)
                    && name.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self) == w.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
            }
            return same(b.baseAddress! + s, word.utf8Start, n)
        }
        switch n {
        case 3: if eq("url") { return .url }
        case 4: if eq("type") { return .type }
        case 5:
            if eq("total") { return .total }
            if eq("items") { return .items }
            if eq("price") { return .price }
        case 6: if eq("status") { return .status }
        case 8:
            if eq("event_id") { return .eventId }
            if eq("order_id") { return .orderId }
            if eq("currency") { return .currency }
            if eq("category") { return .category }
            if eq("campaign") { return .campaign }
            if eq("quantity") { return .quantity }
        case 10:
            if eq("product_id") { return .productId }
            if eq("session_id") { return .sessionId }
            if eq("message_id") { return .messageId }
            if eq("trigger_id") { return .triggerId }
        case 11:
            if eq("customer_id") { return .customerId }
            if eq("occurred_at") { return .occurredAt }
        case 12: if eq("loyalty_tier") { return .loyaltyTier }
        default: break
        }
        return nil
    }

    /// A string member's value: its raw bytes in the line (no escapes, valid UTF-8), or, for
    /// one with escapes or beyond ASCII, an index into `Fields.decoded`. Only the strings an
    /// event keeps become Strings, once, when it is built.
    struct Text {
        /// -1: absent or null; -2 - k: `decoded[k]`; else the first byte.
        var start: Int32 = -1
        var end: Int32 = 0
        var present: Bool { start != -1 }
    }

    /// The event kinds of `type`, matched as bytes.
    enum Kind { case order, productView, emailOpen, emailClick, unknown }

    /// What one object's members held. Read in place (passed inout, never copied or returned):
    /// this runs for every input line, and copying a struct of Strings showed in profiles.
    struct Fields {
        var seen: UInt32 = 0
        var kind: Kind?
        /// nil: absent, null or not a known status.
        var status: OrderStatus?
        var eventId = Text(), customerId = Text(), orderId = Text(), currency = Text(), loyaltyTier = Text()
        var productId = Text(), sessionId = Text(), category = Text(), messageId = Text(), campaign = Text()
        var triggerId = Text(), url = Text()
        var total: Double?, price: Double?, quantity: Double?
        var occurredAt: Millis?
        var items: [OrderItem]?
        /// Strings with escapes or beyond ASCII, decoded (see `Text`).
        var decoded: [String] = []
        /// Unknown member names as byte ranges, to catch a repeated one.
        var unknown: [(Int, Int)] = []

        mutating func set(_ k: Key, _ t: Text) {
            switch k {
            case .eventId: eventId = t
            case .customerId: customerId = t
            case .orderId: orderId = t
            case .currency: currency = t
            case .loyaltyTier: loyaltyTier = t
            case .productId: productId = t
            case .sessionId: sessionId = t
            case .category: category = t
            case .messageId: messageId = t
            case .campaign: campaign = t
            case .triggerId: triggerId = t
            case .url: url = t
            case .type, .status, .total, .price, .quantity, .occurredAt, .items: break
            }
        }

        mutating func set(_ k: Key, _ d: Double) {
            switch k {
            case .total: total = d
            case .price: price = d
            case .quantity: quantity = d
            default: break
            }
        }

        func string(_ t: Text, _ b: UnsafeBufferPointer<UInt8>) -> String? {
            if t.start >= 0 {
                // Checked when read: no escapes, no control characters, all ASCII.
                return String(decoding: UnsafeBufferPointer(rebasing: b[Int(t.start)..<Int(t.end)]), as: UTF8.self)
            }
            return t.start == -1 ? nil : decoded[Int(-2 - t.start)]
        }

        /// A non-empty string (an id).
        func id(_ t: Text, _ b: UnsafeBufferPointer<UInt8>) -> String? {
            guard let s = string(t, b), !s.isEmpty else { return nil }
            return s
        }

        /// Whether `t` holds exactly `word`.
        func equals(_ t: Text, _ word: StaticString, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
            let n = word.utf8CodeUnitCount
            if t.start >= 0 {
                guard Int(t.end - t.start) == n else { return false }
                return EventScanner.same(b.baseAddress! + Int(t.start), word.utf8Start, n)
            }
            guard t.start != -1 else { return false }
            var s = decoded[Int(-2 - t.start)]
            return s.withUTF8 { $0.count == n && EventScanner.same($0.baseAddress!, word.utf8Start, n) }
        }
    }

    /// The first byte at or after `i` that ends a plain ASCII string: a quote, a backslash, a
    /// control character or a byte beyond ASCII (`b.count` if none). Eight bytes at a time: the
    /// lowest flagged byte of each test below is exact (a borrow only runs toward higher bytes).
    @inline(__always)
    static func plainEnd(_ b: UnsafeBufferPointer<UInt8>, from i: Int) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
        let base = UnsafeRawPointer(b.baseAddress!)
        var i = i
        while i + 8 <= b.count {
            let x = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let quote = x ^ (ones &* 0x22), backslash = x ^ (ones &* 0x5c)
            let flagged = (((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
                | ((x &- ones &* 0x20) & ~x) | x) & high
            if flagged != 0 { return i + flagged.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < b.count {
            let c = b[i]
            if c == 0x22 || c == 0x5c || c < 0x20 || c >= 0x80 { return i }
            i += 1
        }
        return i
    }

    @inline(__always)
    static func same(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        for k in 0..<n where a[k] != b[k] { return false }
        return true
    }

    public static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> Event? {
        // Over the limit is a rejection of the reference path's, even for valid JSON.
        guard bytes.count <= EventDecoder.maxMessageBytes, bytes.count < Int(Int32.max) else { return nil }
        var p = JSONParser.Cursor(bytes: bytes)
        p.skipSpace()
        var f = Fields()
        guard object(&p, into: &f, depth: 0, inItems: false) else { return nil }
        p.skipSpace()
        guard p.i == bytes.count else { return nil }
        return build(&f, bytes)
    }

    /// Reads one object's members into `f`. Top level (`inItems` false) and the objects of `items`
    /// read different names; every other member is validated by the reference parser and dropped.
    static func object(_ p: inout JSONParser.Cursor, into f: inout Fields, depth: Int, inItems: Bool) -> Bool {
        let b = p.bytes
        guard p.i < b.count, b[p.i] == UInt8(ascii: "{") else { return false }
        p.i += 1
        p.skipSpace()
        if p.i < b.count && b[p.i] == UInt8(ascii: "}") {
            p.i += 1
            return true
        }
        while true {
            p.skipSpace()
            guard p.i < b.count, b[p.i] == UInt8(ascii: "\"") else { return false }
            let s = p.i + 1
            // A plain ASCII name only; anything else goes to the reference path.
            let e = plainEnd(b, from: s)
            guard e < b.count, b[e] == UInt8(ascii: "\"") else { return false }
            p.i = e + 1
            p.skipSpace()
            guard p.i < b.count, b[p.i] == UInt8(ascii: ":") else { return false }
            p.i += 1
            p.skipSpace()
            guard p.i < b.count else { return false }
            let n = e - s
            var k = n > 0 ? key(b, s, n) : nil
            // The objects of `items` read three names; `quantity` means nothing at the top.
            if let known = k, inItems ? !(known == .productId || known == .price || known == .quantity) : known == .quantity {
                k = nil
            }
            if let k {
                let bit = UInt32(1) << UInt32(k.rawValue)
                guard f.seen & bit == 0 else { return false }  // repeated name
                f.seen |= bit
                guard value(&p, k, into: &f, depth: depth, inItems: inItems) else { return false }
            } else {
                for (us, un) in f.unknown where un == n {
                    if same(b.baseAddress! + us, b.baseAddress! + s, n) { return false }
                }
                f.unknown.append((s, n))
                do { _ = try p.value(depth: depth + 1) } catch { return false }
            }
            p.skipSpace()
            guard p.i < b.count else { return false }
            if b[p.i] == UInt8(ascii: ",") { p.i += 1; continue }
            if b[p.i] == UInt8(ascii: "}") { p.i += 1; return true }
            return false
        }
    }

    /// A string value at `p` (its opening quote): its bytes in place when they are plain ASCII,
    /// else decoded by the reference parser's own string reader (escapes, UTF-8 validation).
    static func text(_ p: inout JSONParser.Cursor, into f: inout Fields) -> Text? {
        let b = p.bytes
        let start = p.i + 1
        let e = plainEnd(b, from: start)
        guard e < b.count, b[e] >= 0x20 else { return nil }
        if b[e] == UInt8(ascii: "\"") {
            p.i = e + 1
            return Text(start: Int32(start), end: Int32(e))
        }
        guard let s = try? p.string() else { return nil }
        f.decoded.append(s)
        return Text(start: Int32(-1 - f.decoded.count), end: 0)
    }

    /// Reads the value of a known member: null, or the kind the decoder expects of it.
    static func value(_ p: inout JSONParser.Cursor, _ k: Key, into f: inout Fields, depth: Int, inItems: Bool) -> Bool {
        let b = p.bytes
        let c = b[p.i]
        if c == UInt8(ascii: "n") {
            do { try p.literal("null") } catch { return false }
            return true
        }
        switch k {
        case .total, .price, .quantity:
            guard c == UInt8(ascii: "-") || (c >= 48 && c <= 57) else { return false }
            do { f.set(k, try p.number()) } catch { return false }
        case .items:
            guard !inItems else { return false }
            guard let list = items(&p, depth: depth + 1) else { return false }
            f.items = list
        case .occurredAt:
            guard c == UInt8(ascii: "\"") else { return false }
            let start = p.i + 1
            var e = start
            while e < b.count, b[e] != UInt8(ascii: "\""), b[e] != UInt8(ascii: "\\"), b[e] >= 0x20 { e += 1 }
            guard e < b.count, b[e] == UInt8(ascii: "\"") else { return false }
            guard let t = Timestamp.parse(utf8: UnsafeBufferPointer(rebasing: b[start..<e])) else { return false }
            f.occurredAt = t
            p.i = e + 1
        case .type:
            guard c == UInt8(ascii: "\""), let t = text(&p, into: &f) else { return false }
            f.kind = f.equals(t, "product_view", b) ? .productView : f.equals(t, "order", b) ? .order
                : f.equals(t, "email_open", b) ? .emailOpen : f.equals(t, "email_click", b) ? .emailClick : .unknown
        case .status:
            guard c == UInt8(ascii: "\""), let t = text(&p, into: &f) else { return false }
            f.status = f.equals(t, "completed", b) ? .completed : f.equals(t, "paid", b) ? .paid
                : f.equals(t, "created", b) ? .created : f.equals(t, "cancelled", b) ? .cancelled
                : f.equals(t, "returned", b) ? .returned : nil
        default:
            guard c == UInt8(ascii: "\""), let t = text(&p, into: &f) else { return false }
            f.set(k, t)
        }
        return true
    }

    static func items(_ p: inout JSONParser.Cursor, depth: Int) -> [OrderItem]? {
        let b = p.bytes
        guard b[p.i] == UInt8(ascii: "[") else { return nil }
        p.i += 1
        var list: [OrderItem] = []
        p.skipSpace()
        if p.i < b.count && b[p.i] == UInt8(ascii: "]") {
            p.i += 1
            return list
        }
        while true {
            p.skipSpace()
            var g = Fields()
            guard object(&p, into: &g, depth: depth + 1, inItems: true) else { return nil }
            guard let pid = g.id(g.productId, b) else { return nil }
            var qty: Int64 = 1
            if let d = g.quantity {
                // The reference path's integer rule (EventDecoder.Fields.optionalInteger).
                guard d == d.rounded(.towardZero), abs(d) < 9.0e15, d >= 0 else { return nil }
                qty = Int64(d)
            }
            list.append(OrderItem(productId: pid, quantity: qty, price: g.price))
            p.skipSpace()
            guard p.i < b.count else { return nil }
            if b[p.i] == UInt8(ascii: ",") { p.i += 1; continue }
            if b[p.i] == UInt8(ascii: "]") { p.i += 1; return list }
            return nil
        }
    }

    /// The reference path's field rules (EventDecoder.decodeEvent), with every failure a nil.
    static func build(_ f: inout Fields, _ b: UnsafeBufferPointer<UInt8>) -> Event? {
        guard let kind = f.kind, let occurredAt = f.occurredAt, let eventId = f.id(f.eventId, b),
            let customerId = f.id(f.customerId, b)
        else { return nil }
        switch kind {
        case .order:
            guard let orderId = f.id(f.orderId, b), let status = f.status, let total = f.total else { return nil }
            // An `items` member of null reads as none.
            return Event(
                eventId: eventId, customerId: customerId, occurredAt: occurredAt,
                body: .order(OrderEvent(
                    orderId: orderId, status: status, total: total, currency: f.string(f.currency, b),
                    items: f.items ?? [], loyaltyTier: f.string(f.loyaltyTier, b))))
        case .productView:
            guard let pid = f.id(f.productId, b) else { return nil }
            return Event(
                eventId: eventId, customerId: customerId, occurredAt: occurredAt,
                body: .productView(ProductViewEvent(
                    productId: pid, sessionId: f.string(f.sessionId, b), category: f.string(f.category, b), price: f.price)))
        case .emailOpen, .emailClick:
            guard let mid = f.id(f.messageId, b) else { return nil }
            return Event(
                eventId: eventId, customerId: customerId, occurredAt: occurredAt,
                body: .email(EmailEvent(
                    clicked: kind == .emailClick, messageId: mid, campaign: f.string(f.campaign, b),
                    triggerId: f.string(f.triggerId, b), url: f.string(f.url, b))))
        case .unknown:
            return nil
        }
    }
}

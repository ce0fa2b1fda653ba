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

    /// Matches a member name's raw bytes (no escapes) against the names the decoder reads.
    static func key(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ n: Int) -> Key? {
        @inline(__always) func eq(_ word: StaticString) -> Bool {
            guard word.utf8CodeUnitCount == n else { return false }
            let w = word.utf8Start
            for k in 0..<n where b[s + k] != w[k] { return false }
            return true
        }
        switch b[s] {
        case UInt8(ascii: "t"):
            if eq("type") { return .type }
            if eq("total") { return .total }
            if eq("trigger_id") { return .triggerId }
        case UInt8(ascii: "e"): if eq("event_id") { return .eventId }
        case UInt8(ascii: "c"):
            if eq("customer_id") { return .customerId }
            if eq("currency") { return .currency }
            if eq("category") { return .category }
            if eq("campaign") { return .campaign }
        case UInt8(ascii: "o"):
            if eq("occurred_at") { return .occurredAt }
            if eq("order_id") { return .orderId }
        case UInt8(ascii: "s"):
            if eq("status") { return .status }
            if eq("session_id") { return .sessionId }
        case UInt8(ascii: "l"): if eq("loyalty_tier") { return .loyaltyTier }
        case UInt8(ascii: "i"): if eq("items") { return .items }
        case UInt8(ascii: "p"):
            if eq("product_id") { return .productId }
            if eq("price") { return .price }
        case UInt8(ascii: "m"): if eq("message_id") { return .messageId }
        case UInt8(ascii: "u"): if eq("url") { return .url }
        case UInt8(ascii: "q"): if eq("quantity") { return .quantity }
        default: break
        }
        return nil
    }

    /// What one object's members held. Plain stored properties rather than arrays by key: this
    /// runs for every input line, and two arrays per line were measurable allocations.
    struct Fields {
        var seen: UInt32 = 0
        var type: String?, eventId: String?, customerId: String?, orderId: String?, status: String?
        var currency: String?, loyaltyTier: String?, productId: String?, sessionId: String?
        var category: String?, messageId: String?, campaign: String?, triggerId: String?, url: String?
        var total: Double?, price: Double?, quantity: Double?
        var occurredAt: Millis?
        var items: [OrderItem]?
        /// Unknown member names as byte ranges, to catch a repeated one.
        var unknown: [(Int, Int)] = []

        mutating func set(_ k: Key, _ s: String) {
            switch k {
            case .type: type = s
            case .eventId: eventId = s
            case .customerId: customerId = s
            case .orderId: orderId = s
            case .status: status = s
            case .currency: currency = s
            case .loyaltyTier: loyaltyTier = s
            case .productId: productId = s
            case .sessionId: sessionId = s
            case .category: category = s
            case .messageId: messageId = s
            case .campaign: campaign = s
            case .triggerId: triggerId = s
            case .url: url = s
            case .total, .price, .quantity, .occurredAt, .items: break
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
    }

    public static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> Event? {
        // Over the limit is a rejection of the reference path's, even for valid JSON.
        guard bytes.count <= EventDecoder.maxMessageBytes else { return nil }
        var p = JSONParser.Cursor(bytes: bytes)
        p.skipSpace()
        guard let f = object(&p, depth: 0, inItems: false) else { return nil }
        p.skipSpace()
        guard p.i == bytes.count else { return nil }
        return build(f)
    }

    /// Reads one object's members. Top level (`inItems` false) and the objects of `items` read
    /// different names; every other member is validated by the reference parser and dropped.
    static func object(_ p: inout JSONParser.Cursor, depth: Int, inItems: Bool) -> Fields? {
        let b = p.bytes
        guard p.i < b.count, b[p.i] == UInt8(ascii: "{") else { return nil }
        p.i += 1
        var f = Fields()
        p.skipSpace()
        if p.i < b.count && b[p.i] == UInt8(ascii: "}") {
            p.i += 1
            return f
        }
        while true {
            p.skipSpace()
            guard p.i < b.count, b[p.i] == UInt8(ascii: "\"") else { return nil }
            let s = p.i + 1
            var e = s
            // A plain ASCII name only; anything else goes to the reference path.
            while e < b.count, b[e] != UInt8(ascii: "\"") {
                let c = b[e]
                guard c >= 0x20, c < 0x80, c != UInt8(ascii: "\\") else { return nil }
                e += 1
            }
            guard e < b.count else { return nil }
            p.i = e + 1
            p.skipSpace()
            guard p.i < b.count, b[p.i] == UInt8(ascii: ":") else { return nil }
            p.i += 1
            p.skipSpace()
            guard p.i < b.count else { return nil }
            let n = e - s
            var k = n > 0 ? key(b, s, n) : nil
            // The objects of `items` read three names; `quantity` means nothing at the top.
            if let known = k, inItems ? !(known == .productId || known == .price || known == .quantity) : known == .quantity {
                k = nil
            }
            if let k {
                let bit = UInt32(1) << UInt32(k.rawValue)
                guard f.seen & bit == 0 else { return nil }  // repeated name
                f.seen |= bit
                guard value(&p, k, into: &f, depth: depth, inItems: inItems) else { return nil }
            } else {
                for (us, un) in f.unknown where un == n {
                    var same = true
                    for j in 0..<n where b[us + j] != b[s + j] { same = false; break }
                    if same { return nil }
                }
                f.unknown.append((s, n))
                do { _ = try p.value(depth: depth + 1) } catch { return nil }
            }
            p.skipSpace()
            guard p.i < b.count else { return nil }
            if b[p.i] == UInt8(ascii: ",") { p.i += 1; continue }
            if b[p.i] == UInt8(ascii: "}") { p.i += 1; return f }
            return nil
        }
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
        default:
            guard c == UInt8(ascii: "\"") else { return false }
            do { f.set(k, try p.string()) } catch { return false }
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
            guard let g = object(&p, depth: depth + 1, inItems: true) else { return nil }
            guard let pid = g.productId, !pid.isEmpty else { return nil }
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
    static func build(_ f: Fields) -> Event? {
        func id(_ s: String?) -> String? {
            guard let s, !s.isEmpty else { return nil }
            return s
        }
        guard let type = f.type, let eventId = id(f.eventId), let customerId = id(f.customerId),
            let occurredAt = f.occurredAt
        else { return nil }
        switch type {
        case "order":
            guard let orderId = id(f.orderId), let statusName = f.status,
                let status = OrderStatus(name: statusName), let total = f.total
            else { return nil }
            // An `items` member of null reads as none.
            return Event(
                eventId: eventId, customerId: customerId, occurredAt: occurredAt,
                body: .order(OrderEvent(orderId: orderId, status: status, total: total, currency: f.currency,
                                        items: f.items ?? [], loyaltyTier: f.loyaltyTier)))
        case "product_view":
            guard let pid = id(f.productId) else { return nil }
            return Event(
                eventId: eventId, customerId: customerId, occurredAt: occurredAt,
                body: .productView(ProductViewEvent(
                    productId: pid, sessionId: f.sessionId, category: f.category, price: f.price)))
        case "email_open", "email_click":
            guard let mid = id(f.messageId) else { return nil }
            return Event(
                eventId: eventId, customerId: customerId, occurredAt: occurredAt,
                body: .email(EmailEvent(
                    clicked: type == "email_click", messageId: mid, campaign: f.campaign,
                    triggerId: f.triggerId, url: f.url)))
        default:
            return nil
        }
    }
}

import Crypto

/// The customer's facts at a trigger's `fired_at` (spec section 2): the core's purchase facts,
/// then each family's fields (stage, engagement, vip, ...) in registry order.
public struct CustomerSnapshot: Sendable, Equatable {
    public var completedOrders: Int
    public var lastPurchaseAt: Millis?
    public var totalSpent: Double
    public var fields: [CustomerField]

    /// A family's field by key.
    public subscript(key: String) -> CustomerField.Value? { fields.first { $0.key == key }?.value }
}

/// One field a family adds to the customer block or the customer view.
public struct CustomerField: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case string(String)
        case bool(Bool)
        case double(Double)
        case int(Int)
        case time(Millis?)
    }

    public var key: String
    public var value: Value

    public init(_ key: String, _ value: Value) {
        self.key = key
        self.value = value
    }

    func write(_ w: inout JSONWriter) {
        w.key(key)
        switch value {
        case .string(let s): w.string(s)
        case .bool(let b): w.bool(b)
        case .double(let d): w.double(d)
        case .int(let i): w.int(i)
        case .time(let t?): w.time(t)
        case .time(nil): w.null()
        }
    }

    /// `,"key":value`, as a member after others.
    func write(to c: inout JSONCursor) {
        c.byte(0x2c)
        c.string(key)
        c.byte(0x3a)
        switch value {
        case .string(let s): c.string(s)
        case .bool(let b): if b { c.raw("true") } else { c.raw("false") }
        case .double(let d): c.double(d)
        case .int(let i): c.int(Int64(i))
        case .time(let t?): c.time(t)
        case .time(nil): c.raw("null")
        }
    }

    /// The most bytes `write(to:)` takes.
    var jsonBound: Int {
        let value: Int
        switch self.value {
        case .string(let s): value = JSONCursor.bound(s)
        case .bool, .double, .int, .time: value = JSONCursor.doubleBound
        }
        return 2 + JSONCursor.bound(key) + value
    }
}

public struct Offer: Sendable, Equatable {
    public var bonusPoints: Int
    public var validUntil: Millis
    public init(bonusPoints: Int, validUntil: Millis) {
        self.bonusPoints = bonusPoints
        self.validUntil = validUntil
    }
}

public struct CarriedProduct: Sendable, Equatable {
    public var productId: String
    public var viewedAt: Millis
    public init(productId: String, viewedAt: Millis) {
        self.productId = productId
        self.viewedAt = viewedAt
    }
}

/// A message with one exact wire form, written by `write`.
public protocol WireMessage {
    func write(_ w: inout JSONWriter)
    /// Appends the wire form to `out` without an intermediate array.
    func appendJSON(to out: inout [UInt8])
}

extension WireMessage {
    public var json: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        appendJSON(to: &out)
        return out
    }

    /// Appends the wire form to `out` without an intermediate array.
    public func appendJSON(to out: inout [UInt8]) {
        var w = JSONWriter(appendingTo: [])
        swap(&w.bytes, &out)
        write(&w)
        swap(&w.bytes, &out)
    }
}

/// One message on `campaign-triggers`.
public struct Trigger: Sendable, Equatable, WireMessage {
    /// `trigger_id`: the one given, else `Trigger.id` of the trigger's rule, customer, time and
    /// touch, computed when read. The fold gives none: the id is a SHA-256 that only the wire
    /// form needs, so it is computed by whoever writes the trigger (the replay's writer thread; in
    /// the live loop each task settles its own on its core, `settleId`), and never by the
    /// back-test, which writes none (it was 2-5% of the fold's samples, on the fold's thread).
    public var triggerId: String {
        get { givenId ?? Self.id(ruleId: ruleId, customerId: customerId, firedAt: firedAt, touch: touch) }
        set { givenId = newValue }
    }
    private var givenId: String?
    public var ruleId: String
    public var touch: Int
    public var customerId: String
    public var firedAt: Millis
    public var channel: String
    public var customer: CustomerSnapshot
    public var offer: Offer?
    public var products: [CarriedProduct]?
    public var recommendations: [String]?
    public var conversionWindowDays: Int
    public var rulesVersion: String
    /// Set on a withheld touch (spec 7.1): it goes to `campaign-withheld`, not `campaign-triggers`.
    public var withheld: WithheldReason? = nil

    /// Computes the id now and keeps it, so that reading it later costs nothing: for a caller that
    /// folds on several threads and writes on one (the live loop).
    public mutating func settleId() {
        if givenId == nil { givenId = triggerId }
    }

    /// A trigger; without `triggerId`, its id is `Trigger.id` of the other fields, when read.
    init(
        triggerId: String? = nil, ruleId: String, touch: Int, customerId: String, firedAt: Millis, channel: String,
        customer: CustomerSnapshot, offer: Offer? = nil, products: [CarriedProduct]? = nil, recommendations: [String]? = nil,
        conversionWindowDays: Int, rulesVersion: String, withheld: WithheldReason? = nil
    ) {
        givenId = triggerId
        self.ruleId = ruleId
        self.touch = touch
        self.customerId = customerId
        self.firedAt = firedAt
        self.channel = channel
        self.customer = customer
        self.offer = offer
        self.products = products
        self.recommendations = recommendations
        self.conversionWindowDays = conversionWindowDays
        self.rulesVersion = rulesVersion
        self.withheld = withheld
    }

    /// Equal wire forms: the ids compared as read, whether given or computed.
    public static func == (a: Trigger, b: Trigger) -> Bool {
        a.ruleId == b.ruleId && a.touch == b.touch && a.customerId == b.customerId && a.firedAt == b.firedAt
            && a.channel == b.channel && a.customer == b.customer && a.offer == b.offer && a.products == b.products
            && a.recommendations == b.recommendations && a.conversionWindowDays == b.conversionWindowDays
            && a.rulesVersion == b.rulesVersion && a.withheld == b.withheld && a.triggerId == b.triggerId
    }

    /// Lowercase hex of the first 16 bytes of SHA-256 over `rule_id|customer_id|fired_at_ms|touch`.
    public static func id(ruleId: String, customerId: String, firedAt: Millis, touch: Int) -> String {
        // "rule|customer|firedAt|touch" assembled in a stack buffer and hashed from it, the hex
        // written in place: one trigger in two has one, and the byte array, the two decimal
        // Strings and the digest's copies showed in profiles of the fold.
        var ruleId = ruleId, customerId = customerId
        let capacity = ruleId.utf8.count + customerId.utf8.count + 2 * 21 + 2
        var hasher = SHA256()
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            var k = 0
            func append(_ bytes: UnsafeBufferPointer<UInt8>) {
                for b in bytes {
                    buffer[k] = b
                    k += 1
                }
            }
            ruleId.withUTF8 { append($0) }
            buffer[k] = 124
            k += 1
            customerId.withUTF8 { append($0) }
            buffer[k] = 124
            k += 1
            k = writeDecimal(Int64(firedAt), into: buffer, at: k)
            buffer[k] = 124
            k += 1
            k = writeDecimal(Int64(touch), into: buffer, at: k)
            hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buffer.baseAddress, count: k))
        }
        let digest = hasher.finalize()
        return String(unsafeUninitializedCapacity: 32) { out in
            var k = 0
            digest.withUnsafeBytes { raw in
                for b in raw.prefix(16) {
                    out[k] = hexDigit(b >> 4)
                    out[k + 1] = hexDigit(b & 0xf)
                    k += 2
                }
            }
            return k
        }
    }

    /// Writes `v` in decimal as `String(v)` spells it (a minus sign, no leading zeros) at `k`;
    /// returns the index after it. Takes at most 20 bytes.
    static func writeDecimal(_ v: Int64, into buffer: UnsafeMutableBufferPointer<UInt8>, at k: Int) -> Int {
        var k = k
        if v < 0 {
            buffer[k] = 45
            k += 1
        }
        // The magnitude as unsigned: Int64.min has none as an Int64.
        var m = v.magnitude
        var digits = 1
        var rest = m / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        var i = k + digits
        let end = i
        repeat {
            i -= 1
            buffer[i] = 48 + UInt8(truncatingIfNeeded: m % 10)
            m /= 10
        } while m > 0
        return end
    }

    @inline(__always)
    static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 48 + v : 87 + v }

    /// The wire form of spec section 2, keys in its order.
    public func write(_ w: inout JSONWriter) { w.raw(upTo: jsonBound) { write(to: &$0) } }

    public func appendJSON(to out: inout [UInt8]) { out.appendJSON(upTo: jsonBound) { write(to: &$0) } }

    /// The most bytes `write(to:)` takes: the member names and punctuation (under 450 bytes with
    /// every optional member), the fixed-width values, and each string escaped at worst.
    var jsonBound: Int {
        // A computed id is 32 hex digits in quotes; a given one is measured.
        var n = 640 + (givenId.map(JSONCursor.bound) ?? 34) + JSONCursor.bound(ruleId) + JSONCursor.bound(customerId)
            + JSONCursor.bound(channel) + JSONCursor.bound(rulesVersion)
        for f in customer.fields { n += f.jsonBound }
        for p in products ?? [] { n += 64 + JSONCursor.bound(p.productId) }
        for r in recommendations ?? [] { n += 1 + JSONCursor.bound(r) }
        return n
    }

    /// Member names are written with their punctuation as literals: the same bytes as
    /// `JSONWriter`'s `key` and separators, one copy each.
    func write(to c: inout JSONCursor) {
        c.raw(#"{"trigger_id":"#); c.string(triggerId)
        c.raw(#","rule_id":"#); c.string(ruleId)
        c.raw(#","touch":"#); c.int(Int64(touch))
        c.raw(#","customer_id":"#); c.string(customerId)
        c.raw(#","fired_at":"#); c.time(firedAt)
        c.raw(#","channel":"#); c.string(channel)
        c.raw(#","customer":{"completed_orders":"#); c.int(Int64(customer.completedOrders))
        c.raw(#","last_purchase_at":"#)
        if let l = customer.lastPurchaseAt { c.time(l) } else { c.raw("null") }
        c.raw(#","total_spent":"#); c.double(customer.totalSpent)
        for f in customer.fields { f.write(to: &c) }
        c.byte(0x7d)
        if let offer {
            c.raw(#","offer":{"bonus_points":"#); c.int(Int64(offer.bonusPoints))
            c.raw(#","valid_until":"#); c.time(offer.validUntil)
            c.byte(0x7d)
        }
        if let products {
            c.raw(#","products":["#)
            for (k, p) in products.enumerated() {
                if k > 0 { c.byte(0x2c) }
                c.raw(#"{"product_id":"#); c.string(p.productId)
                c.raw(#","viewed_at":"#); c.time(p.viewedAt)
                c.byte(0x7d)
            }
            c.byte(0x5d)
        }
        if let recommendations {
            c.raw(#","recommendations":["#)
            for (k, r) in recommendations.enumerated() {
                if k > 0 { c.byte(0x2c) }
                c.string(r)
            }
            c.byte(0x5d)
        }
        c.raw(#","conversion_window_days":"#); c.int(Int64(conversionWindowDays))
        c.raw(#","rules_version":"#); c.string(rulesVersion)
        if let withheld {
            c.raw(#","withheld":{"reason":"#); c.string(withheld.rawValue)
            c.byte(0x7d)
        }
        c.byte(0x7d)
    }
}

/// One message on `campaign-conversions`: a purchase attributed to the last touch whose window
/// it fell in.
public struct Conversion: Sendable, Equatable, WireMessage {
    public var triggerId: String
    public var ruleId: String
    public var touch: Int
    public var customerId: String
    public var orderId: String
    public var convertedAt: Millis
    public var revenue: Double
    public var hoursAfterTrigger: Double

    public init(
        triggerId: String, ruleId: String, touch: Int, customerId: String, orderId: String, convertedAt: Millis,
        revenue: Double, hoursAfterTrigger: Double
    ) {
        self.triggerId = triggerId
        self.ruleId = ruleId
        self.touch = touch
        self.customerId = customerId
        self.orderId = orderId
        self.convertedAt = convertedAt
        self.revenue = revenue
        self.hoursAfterTrigger = hoursAfterTrigger
    }

    public func write(_ w: inout JSONWriter) { w.raw(upTo: jsonBound) { write(to: &$0) } }

    public func appendJSON(to out: inout [UInt8]) { out.appendJSON(upTo: jsonBound) { write(to: &$0) } }

    /// The most bytes `write(to:)` takes (names and punctuation are about 130).
    var jsonBound: Int {
        256 + JSONCursor.bound(triggerId) + JSONCursor.bound(ruleId) + JSONCursor.bound(customerId)
            + JSONCursor.bound(orderId)
    }

    func write(to c: inout JSONCursor) {
        c.raw(#"{"trigger_id":"#); c.string(triggerId)
        c.raw(#","rule_id":"#); c.string(ruleId)
        c.raw(#","touch":"#); c.int(Int64(touch))
        c.raw(#","customer_id":"#); c.string(customerId)
        c.raw(#","order_id":"#); c.string(orderId)
        c.raw(#","converted_at":"#); c.time(convertedAt)
        c.raw(#","revenue":"#); c.double(revenue)
        c.raw(#","hours_after_trigger":"#); c.double(hoursAfterTrigger)
        c.byte(0x7d)
    }
}

public enum Output: Sendable, Equatable {
    case trigger(Trigger)
    case conversion(Conversion)
    /// A touch decided but withheld (spec 7.1): the trigger, with its `withheld` reason set.
    case withheld(Trigger)

    /// A trigger's id computed now (`Trigger.settleId`); other outputs have theirs.
    public mutating func settleId() {
        switch self {
        case .trigger(var t):
            t.settleId()
            self = .trigger(t)
        case .withheld(var t):
            t.settleId()
            self = .withheld(t)
        case .conversion: break
        }
    }

    /// The wire form, as its topic carries it.
    public var json: [UInt8] {
        switch self {
        case .trigger(let t), .withheld(let t): return t.json
        case .conversion(let c): return c.json
        }
    }
}

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
    public var triggerId: String
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

    /// Lowercase hex of the first 16 bytes of SHA-256 over `rule_id|customer_id|fired_at_ms|touch`.
    public static func id(ruleId: String, customerId: String, firedAt: Millis, touch: Int) -> String {
        // "rule|customer|firedAt|touch" assembled as bytes and hex written in place: one trigger
        // in two has one, and the interpolated String plus two arrays showed in profiles.
        var input: [UInt8] = []
        input.reserveCapacity(ruleId.utf8.count + customerId.utf8.count + 32)
        input.append(contentsOf: ruleId.utf8)
        input.append(124)
        input.append(contentsOf: customerId.utf8)
        input.append(124)
        input.append(contentsOf: String(firedAt).utf8)
        input.append(124)
        input.append(contentsOf: String(touch).utf8)
        let digest = SHA256.hash(data: input)
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

    @inline(__always)
    static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 48 + v : 87 + v }

    /// The wire form of spec section 2, keys in its order.
    public func write(_ w: inout JSONWriter) {
        w.beginObject()
        w.key("trigger_id"); w.string(triggerId)
        w.key("rule_id"); w.string(ruleId)
        w.key("touch"); w.int(touch)
        w.key("customer_id"); w.string(customerId)
        w.key("fired_at"); w.time(firedAt)
        w.key("channel"); w.string(channel)
        w.key("customer")
        w.beginObject()
        w.key("completed_orders"); w.int(customer.completedOrders)
        w.key("last_purchase_at")
        if let l = customer.lastPurchaseAt { w.time(l) } else { w.null() }
        w.key("total_spent"); w.double(customer.totalSpent)
        for f in customer.fields { f.write(&w) }
        w.endObject()
        if let offer {
            w.key("offer")
            w.beginObject()
            w.key("bonus_points"); w.int(offer.bonusPoints)
            w.key("valid_until"); w.time(offer.validUntil)
            w.endObject()
        }
        if let products {
            w.key("products")
            w.beginArray()
            for p in products {
                w.beginObject()
                w.key("product_id"); w.string(p.productId)
                w.key("viewed_at"); w.time(p.viewedAt)
                w.endObject()
            }
            w.endArray()
        }
        if let recommendations {
            w.key("recommendations")
            w.beginArray()
            for r in recommendations { w.string(r) }
            w.endArray()
        }
        w.key("conversion_window_days"); w.int(conversionWindowDays)
        w.key("rules_version"); w.string(rulesVersion)
        w.endObject()
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

    public func write(_ w: inout JSONWriter) {
        w.beginObject()
        w.key("trigger_id"); w.string(triggerId)
        w.key("rule_id"); w.string(ruleId)
        w.key("touch"); w.int(touch)
        w.key("customer_id"); w.string(customerId)
        w.key("order_id"); w.string(orderId)
        w.key("converted_at"); w.time(convertedAt)
        w.key("revenue"); w.double(revenue)
        w.key("hours_after_trigger"); w.double(hoursAfterTrigger)
        w.endObject()
    }
}

public enum Output: Sendable, Equatable {
    case trigger(Trigger)
    case conversion(Conversion)
}

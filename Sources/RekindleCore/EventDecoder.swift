/// Why an input message is a bad input: a one-line reason, without the location
/// (the caller knows whether it was a file line or a topic offset).
public struct InputError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of bad input it is: the `reason` label of the bad-input metric.
    public enum Kind: String, Sendable, CaseIterable {
        case invalidJSON = "invalid_json", invalidUTF8 = "invalid_utf8", tooLarge = "too_large"
        case missingField = "missing_field", wrongType = "wrong_type", badTime = "bad_time"
        case unknownType = "unknown_type", unknownStatus = "unknown_status", wrongTopic = "wrong_topic"
        case keyMismatch = "key_mismatch"
        /// `occurred_at` further ahead of its reference time than `max_future_skew` (a broken clock).
        case futureTime = "future_time"
        /// An order total that would make the customer's total spent overflow a 64-bit float.
        case totalOverflow = "total_overflow"
        /// A Kafka message with a null value (a tombstone): there is nothing to decode.
        case nullValue = "null_value"
        /// A consent event's channel that is not email, sms, manager or any.
        case unknownChannel = "unknown_channel"
    }

    public var kind: Kind
    public var reason: String
    public init(_ kind: Kind = .wrongType, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }
    public var description: String { reason }
}

/// Turns one input message (the bytes of a line or a Kafka value) into a validated `Event`.
public enum EventDecoder {
    public static let maxMessageBytes = 1 << 20

    public static func decode(_ text: String, expecting topic: Topic? = nil) -> Result<Event, InputError> {
        var copy = text
        return copy.withUTF8 { decode(bytes: $0, expecting: topic) }
    }

    /// The production path: the fast scanner, and the reference path for whatever it does not
    /// accept (which also words every rejection). Same results as `decodeReference`, faster.
    public static func decode(bytes: UnsafeBufferPointer<UInt8>, expecting topic: Topic? = nil) -> Result<Event, InputError> {
        if let event = EventScanner.scan(bytes) {
            return check(event, expecting: topic)
        }
        return decodeReference(bytes: bytes, expecting: topic)
    }

    /// The straightforward path: a generic JSON tree, then field by field.
    public static func decodeReference(bytes: UnsafeBufferPointer<UInt8>, expecting topic: Topic? = nil) -> Result<Event, InputError> {
        if bytes.count > maxMessageBytes {
            return .failure(tooLarge(bytes.count))
        }
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch {
            if let bad = firstInvalidUTF8(bytes) {
                return .failure(InputError(.invalidUTF8, "not valid UTF-8 at byte \(bad)"))
            }
            return .failure(InputError(.invalidJSON, error.description))
        }
        return decode(value, expecting: topic)
    }

    /// The offset of the first byte that does not start a well-formed UTF-8 sequence (overlong
    /// forms and surrogates included), or nil when all of it is valid.
    public static func firstInvalidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        while i < b.count {
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            var need = 0, lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            switch c {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; hi = 0x9F
            case 0xF0: need = 3; lo = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; hi = 0x8F
            default: return i
            }
            guard i + need < b.count else { return i }
            guard b[i + 1] >= lo && b[i + 1] <= hi else { return i }
            for k in 2...max(2, need) where k <= need {
                guard b[i + k] >= 0x80 && b[i + k] <= 0xBF else { return i }
            }
            i += need + 1
        }
        return nil
    }

    public static func decode(_ value: JSONValue, expecting topic: Topic? = nil) -> Result<Event, InputError> {
        do throws(InputError) {
            return check(try decodeEvent(value), expecting: topic)
        } catch {
            return .failure(error)
        }
    }

    /// A message of `size` bytes, over `limit`: the same words whether it was read whole or, as a
    /// file line over the limit, skipped.
    public static func tooLarge(_ size: Int, limit: Int = maxMessageBytes) -> InputError {
        InputError(.tooLarge, "message is \(size) bytes, over the \(limit == 1 << 20 ? "1 MiB" : "\(limit)-byte") limit")
    }

    /// The default `max_future_skew`: one day.
    public static let defaultMaxFutureSkewMs: Millis = millisPerDay
    /// The largest accepted `max_future_skew`: 100 years (beyond that the check means nothing).
    public static let maxFutureSkewLimitMs: Millis = 36_500 * millisPerDay

    /// A broken client clock (spec notes, hostile inputs): an event whose `occurred_at` is more
    /// than `maxSkewMs` ahead of `reference` is a bad input, so one event dated 9999 cannot move
    /// its task's watermark to the end of time and fire every pending touch. The reference is the
    /// Kafka message's timestamp live and in a replay from topics, and the moment a file replay
    /// started; without a reference (a message with no timestamp) nothing is checked.
    public static func checkFutureSkew(_ event: Event, reference: Millis?, maxSkewMs: Millis) -> InputError? {
        guard let reference else { return nil }
        // Saturating: a reference so late that it plus the skew passes `Millis.max` accepts everything.
        guard event.occurredAt > reference.adding(maxSkewMs) else { return nil }
        return InputError(
            .futureTime,
            "occurred_at: \(Timestamp.format(event.occurredAt)) is more than \(describeSkew(maxSkewMs)) ahead of "
                + "\(Timestamp.format(reference)) (max_future_skew)")
    }

    static func describeSkew(_ ms: Millis) -> String {
        if ms % millisPerDay == 0 { return ms == millisPerDay ? "1 day" : "\(ms / millisPerDay) days" }
        if ms % millisPerHour == 0 { return "\(ms / millisPerHour) h" }
        return "\(ms) ms"
    }

    static func check(_ event: Event, expecting topic: Topic?) -> Result<Event, InputError> {
        if case .erasure = event.body { return .success(event) }
        if let topic, event.topic != topic {
            return .failure(InputError(.wrongTopic, "type: a \(event.typeName) event does not belong on the \(topic.defaultName) topic"))
        }
        return .success(event)
    }

    static func decodeEvent(_ value: JSONValue) throws(InputError) -> Event {
        guard case .object = value else { throw InputError(.invalidJSON, "expected a JSON object, got \(value.described)") }
        let f = Fields(value)
        let type = try f.string("type")
        let eventId = try f.id("event_id")
        let customerId = try f.id("customer_id")
        let occurredAt = try f.time("occurred_at")
        switch type {
        case "order":
            let orderId = try f.id("order_id")
            let statusName = try f.string("status")
            guard let status = OrderStatus(name: statusName) else {
                throw InputError(.unknownStatus, "status: unknown status \(JSONWriter.quoted(statusName))")
            }
            let total = try f.number("total")
            let currency = try f.optionalString("currency")
            let loyalty = try f.optionalString("loyalty_tier")
            var items: [OrderItem] = []
            if let raw = f.optional("items") {
                guard case .array(let list) = raw else { throw InputError(.wrongType, "items: expected an array, got \(raw.described)") }
                items.reserveCapacity(list.count)
                for (k, item) in list.enumerated() {
                    guard case .object = item else {
                        throw InputError(.wrongType, "items[\(k)]: expected an object, got \(item.described)")
                    }
                    let g = Fields(item, path: "items[\(k)].")
                    let pid = try g.id("product_id")
                    let qty = try g.optionalInteger("quantity") ?? 1
                    guard qty >= 0 else { throw InputError(.wrongType, "items[\(k)].quantity: expected a count >= 0, got \(qty)") }
                    let price = try g.optionalNumber("price")
                    items.append(OrderItem(productId: pid, quantity: qty, price: price))
                }
            }
            return Event(
                eventId: eventId, customerId: customerId, occurredAt: occurredAt,
                body: .order(OrderEvent(orderId: orderId, status: status, total: total, currency: currency,
                                        items: items, loyaltyTier: loyalty)))
        case "product_view":
            let pid = try f.id("product_id")
            let view = ProductViewEvent(
                productId: pid, sessionId: try f.optionalString("session_id"),
                category: try f.optionalString("category"), price: try f.optionalNumber("price"))
            return Event(eventId: eventId, customerId: customerId, occurredAt: occurredAt, body: .productView(view))
        case "email_open", "email_click":
            let mid = try f.id("message_id")
            let email = EmailEvent(
                clicked: type == "email_click", messageId: mid, campaign: try f.optionalString("campaign"),
                triggerId: try f.optionalString("trigger_id"), url: try f.optionalString("url"))
            return Event(eventId: eventId, customerId: customerId, occurredAt: occurredAt, body: .email(email))
        case "erasure":
            return Event(eventId: eventId, customerId: customerId, occurredAt: occurredAt, body: .erasure)
        case "consent":
            // Rare (opt-ins and opt-outs): only this reference path reads them; the fast scanner
            // hands any type it does not know here.
            let channel = try f.string("channel")
            guard Policy.channels.contains(channel) else {
                throw InputError(.unknownChannel, "channel: expected one of \(Policy.channels.joined(separator: ", ")), got \(JSONWriter.quoted(channel))")
            }
            let consent = ConsentEvent(channel: channel, granted: try f.bool("granted"))
            return Event(eventId: eventId, customerId: customerId, occurredAt: occurredAt, body: .consent(consent))
        default:
            throw InputError(.unknownType, "type: unknown event type \(JSONWriter.quoted(type))")
        }
    }

    /// Field access with the error wording of the dead-letter reasons.
    struct Fields {
        let value: JSONValue
        let path: String
        init(_ value: JSONValue, path: String = "") {
            self.value = value
            self.path = path
        }

        func optional(_ name: String) -> JSONValue? {
            guard let v = value[name] else { return nil }
            if case .null = v { return nil }
            return v
        }

        func required(_ name: String) throws(InputError) -> JSONValue {
            guard let v = value[name] else { throw InputError(.missingField, "missing required field \(path)\(name)") }
            if case .null = v { throw InputError(.missingField, "\(path)\(name): required, got null") }
            return v
        }

        func string(_ name: String) throws(InputError) -> String {
            let v = try required(name)
            guard case .string(let s) = v else { throw InputError(.wrongType, "\(path)\(name): expected a string, got \(v.described)") }
            return s
        }

        func id(_ name: String) throws(InputError) -> String {
            let s = try string(name)
            guard !s.isEmpty else { throw InputError(.wrongType, "\(path)\(name): expected a non-empty string") }
            return s
        }

        func bool(_ name: String) throws(InputError) -> Bool {
            let v = try required(name)
            guard case .bool(let b) = v else { throw InputError(.wrongType, "\(path)\(name): expected true or false, got \(v.described)") }
            return b
        }

        func optionalString(_ name: String) throws(InputError) -> String? {
            guard let v = optional(name) else { return nil }
            guard case .string(let s) = v else { throw InputError(.wrongType, "\(path)\(name): expected a string, got \(v.described)") }
            return s
        }

        func number(_ name: String) throws(InputError) -> Double {
            let v = try required(name)
            guard case .number(let d) = v else { throw InputError(.wrongType, "\(path)\(name): expected a number, got \(v.described)") }
            return d
        }

        func optionalNumber(_ name: String) throws(InputError) -> Double? {
            guard let v = optional(name) else { return nil }
            guard case .number(let d) = v else { throw InputError(.wrongType, "\(path)\(name): expected a number, got \(v.described)") }
            return d
        }

        func optionalInteger(_ name: String) throws(InputError) -> Int64? {
            guard let d = try optionalNumber(name) else { return nil }
            guard d == d.rounded(.towardZero), abs(d) < 9.0e15 else {
                throw InputError(.wrongType, "\(path)\(name): expected an integer, got number \(JSONWriter.number(d))")
            }
            return Int64(d)
        }

        func time(_ name: String) throws(InputError) -> Millis {
            let v = try required(name)
            guard case .string(let s) = v else {
                throw InputError(.badTime, "\(path)\(name): expected RFC 3339, got \(v.described)")
            }
            guard let t = Timestamp.parse(s) else {
                throw InputError(.badTime, "\(path)\(name): expected RFC 3339, got \(JSONWriter.quoted(s))")
            }
            return t
        }
    }
}

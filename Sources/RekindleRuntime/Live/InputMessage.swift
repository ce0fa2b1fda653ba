import RekindleCore
import RekindleKafka

/// A consumed input message after validation: an event to merge, or a bad input to dead-letter.
enum InputMessage: Sendable {
    /// `message` is kept for the dead letter in case the fold refuses the event (an order whose
    /// total would overflow the customer's total spent); its bytes are shared, not copied.
    case event(Event, offset: Int64, message: ConsumedMessage)
    case bad(DeadLetter, key: [UInt8]?, kind: InputError.Kind, offset: Int64)

    /// When the event occurred; nil for a bad input.
    var occurredAt: Millis? {
        if case .event(let e, _, _) = self { return e.occurredAt }
        return nil
    }

    /// Validates one message of `topic` (spec section 2: JSON, fields, size, key = customer_id,
    /// the right kind for the topic; and an `occurred_at` no further than `maxFutureSkewMs` ahead
    /// of the message's timestamp).
    static func validate(_ m: ConsumedMessage, topic: Topic, maxFutureSkewMs: Millis) -> InputMessage {
        if m.valueIsNull { return InputMessage.bad(m, InputError(.nullValue, "the message has a null value (a tombstone), not an event")) }
        let result = m.value.withUnsafeBufferPointer { EventDecoder.decode(bytes: $0, expecting: topic) }
        switch result {
        case .failure(let e):
            return InputMessage.bad(m, e)
        case .success(let event):
            guard let k = m.key, k.elementsEqual(event.customerId.utf8) else {
                let shown = m.key.map { JSONWriter.quoted(String(decoding: $0, as: UTF8.self)) } ?? "none"
                return InputMessage.bad(m, InputError(.keyMismatch, "key \(shown) differs from customer_id \(JSONWriter.quoted(event.customerId))"))
            }
            // A timestamp before the epoch (-1: none) is no reference.
            let reference = m.timestamp.flatMap { $0 >= 0 ? $0 : nil }
            if let skew = EventDecoder.checkFutureSkew(event, reference: reference, maxSkewMs: maxFutureSkewMs) {
                return InputMessage.bad(m, skew)
            }
            return .event(event, offset: m.offset, message: m)
        }
    }

    static func bad(_ m: ConsumedMessage, _ error: InputError) -> InputMessage {
        .bad(deadLetter(m, error), key: m.key, kind: error.kind, offset: m.offset)
    }

    static func deadLetter(_ m: ConsumedMessage, _ error: InputError) -> DeadLetter {
        let source = DeadLetter.Source.topic(name: m.topicPartition.topic, partition: m.topicPartition.partition, offset: m.offset)
        var letter = DeadLetter(source: source, error: error, original: m.value)
        letter.originalIsNull = m.valueIsNull
        return letter
    }
}

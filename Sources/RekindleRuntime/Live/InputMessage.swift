import RekindleCore
import RekindleKafka

/// A consumed input message after validation: an event to merge, or a bad input to dead-letter.
enum InputMessage: Sendable {
    case event(Event, offset: Int64)
    case bad(DeadLetter, key: [UInt8]?, kind: InputError.Kind, offset: Int64)

    /// Validates one message of `topic` (spec section 2: JSON, fields, size, key = customer_id,
    /// the right kind for the topic).
    static func validate(_ m: ConsumedMessage, topic: Topic) -> InputMessage {
        let source = DeadLetter.Source.topic(name: m.topicPartition.topic, partition: m.topicPartition.partition, offset: m.offset)
        func bad(_ error: InputError) -> InputMessage {
            .bad(DeadLetter(source: source, reason: DeadLetter.describe(source, error), original: m.value),
                 key: m.key, kind: error.kind, offset: m.offset)
        }
        let result = m.value.withUnsafeBufferPointer { EventDecoder.decode(bytes: $0, expecting: topic) }
        switch result {
        case .failure(let e):
            return bad(e)
        case .success(let event):
            let key = m.key.map { String(decoding: $0, as: UTF8.self) }
            guard let k = m.key, k == Array(event.customerId.utf8) else {
                let shown = key.map { JSONWriter.quoted($0) } ?? "none"
                return bad(InputError(.keyMismatch, "key \(shown) differs from customer_id \(JSONWriter.quoted(event.customerId))"))
            }
            return .event(event, offset: m.offset)
        }
    }
}

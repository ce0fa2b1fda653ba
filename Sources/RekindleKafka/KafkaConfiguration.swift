import CRdKafka

/// librdkafka properties, applied as-is (so SASL, TLS and every tuning knob pass through).
enum KafkaConfiguration {
    static func text(_ buffer: [CChar]) -> String { buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } }

    static func make(_ properties: [String: String]) throws(KafkaError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var errstr = [CChar](repeating: 0, count: 512)
        // Sorted: the same properties are applied in the same order every time.
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            let r = rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
            if r != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let text = text(errstr)
                throw KafkaError(code: -1, message: "config \(key)=\(value): \(text)")
            }
        }
        return conf
    }

    static func newClient(_ type: rd_kafka_type_t, _ conf: OpaquePointer) throws(KafkaError) -> OpaquePointer {
        var errstr = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(code: -1, message: "cannot create client: \(text(errstr))")
        }
        return rk
    }
}

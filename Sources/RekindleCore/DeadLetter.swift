/// A bad input on its way to the dead-letter output (spec section 2): where it came from, the
/// original bytes, and a one-line reason.
public struct DeadLetter: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case file(name: String, line: Int)
        case topic(name: String, partition: Int32, offset: Int64)
    }

    /// The most of the original a dead letter carries (see `json`).
    public static let maxOriginalBytes = 256 * 1024

    public var source: Source
    public var reason: String
    public var original: [UInt8]
    /// The original was a Kafka null (a tombstone), not an empty value: `original` is written as
    /// JSON null, so the two stay apart.
    public var originalIsNull = false
    /// The original's full size when `original` holds only its first bytes (a file line over
    /// the limit is skipped, not read whole).
    public var originalSize: Int?

    public init(source: Source, reason: String, original: [UInt8], originalSize: Int? = nil) {
        self.source = source
        self.reason = reason
        self.original = original
        self.originalSize = originalSize
    }

    /// The dead letter of a bad input at `source`, its reason worded by `describe`.
    public init(source: Source, error: InputError, original: [UInt8], originalSize: Int? = nil) {
        self.init(source: source, reason: DeadLetter.describe(source, error), original: original, originalSize: originalSize)
    }

    /// `orders line 3: occurred_at: ...` or `orders[3]@1542: ...`.
    public static func describe(_ source: Source, _ error: InputError) -> String {
        switch source {
        case .file(let name, let line): return "\(name) line \(line): \(error.reason)"
        case .topic(let name, let partition, let offset): return "\(name)[\(partition)]@\(offset): \(error.reason)"
        }
    }

    public var json: [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("source")
        w.beginObject()
        switch source {
        case .file(let name, let line):
            w.key("file"); w.string(name)
            w.key("line"); w.int(line)
        case .topic(let name, let partition, let offset):
            w.key("topic"); w.string(name)
            w.key("partition"); w.int(Int(partition))
            w.key("offset"); w.int(offset)
        }
        w.endObject()
        w.key("reason"); w.string(reason)
        if originalIsNull {
            w.key("original"); w.null()
        } else if originalSize != nil || original.count > DeadLetter.maxOriginalBytes {
            // Cut so the dead letter fits a broker's default 1 MB message limit; base64 because
            // the cut may split a character.
            w.key("original_base64"); w.string(Base64.encode(Array(original.prefix(DeadLetter.maxOriginalBytes))))
            w.key("original_truncated"); w.bool(true)
            w.key("original_size"); w.int(originalSize ?? original.count)
        } else if let text = String(validating: original, as: UTF8.self) {
            w.key("original"); w.string(text)
        } else {
            w.key("original_base64"); w.string(Base64.encode(original))
        }
        w.endObject()
        return w.bytes
    }
}

enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let n = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(i + 1 < bytes.count ? alphabet[Int(n >> 6 & 63)] : 61)
            out.append(i + 2 < bytes.count ? alphabet[Int(n & 63)] : 61)
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

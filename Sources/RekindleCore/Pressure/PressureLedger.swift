/// Each customer's recently sent touches, as the caps of spec 7.3 count them: the instant and the
/// channel of every touch sent (not withheld, not of an exempt rule) within the longest cap's span.
/// Kept by the task while the rules have a policy; its own snapshot section, so caps hold across
/// restarts.
struct PressureLedger: Sendable {
    struct Sent: Sendable, Equatable {
        var at: Millis
        /// Index into `channels`.
        var channel: UInt8
    }

    /// Channel names as first met (a handful).
    private(set) var channels: [String] = []
    private(set) var sent: [Int: [Sent]] = [:]

    private mutating func index(_ channel: String) -> UInt8 {
        if let k = channels.firstIndex(of: channel) { return UInt8(k) }
        channels.append(channel)
        return UInt8(channels.count - 1)
    }

    /// Whether a touch of customer `c` on `channel` at `t` would exceed one of `policy`'s caps.
    /// The customer's list is pruned and read in place (copying it out of the dictionary to
    /// change it allocated at every touch).
    mutating func exceedsCap(_ c: Int, channel: String, at t: Millis, _ policy: Policy) -> Bool {
        let horizon = t.subtracting(policy.longestSpanMs)
        if sent[c] != nil {
            sent[c]!.removeAll { $0.at <= horizon }
            if sent[c]!.isEmpty { sent[c] = nil }
        }
        let own = channels.firstIndex(of: channel).map { UInt8($0) }
        for cap in policy.caps where cap.channel == nil || cap.channel == channel {
            guard cap.max > 0 else { return true }
            guard let list = sent[c] else { continue }
            let from = t.subtracting(Millis(cap.perDays) * millisPerDay)
            var n = 0
            for s in list where s.at > from && s.at <= t && (cap.channel == nil || s.channel == own) { n += 1 }
            if n >= cap.max { return true }
        }
        return false
    }

    mutating func erase(_ c: Int) { sent[c] = nil }

    /// A touch of customer `c` on `channel` was sent at `t`.
    mutating func recordSent(_ c: Int, channel: String, at t: Millis) {
        let k = index(channel)
        sent[c, default: []].append(Sent(at: t, channel: k))
    }

    // MARK: - Snapshot section

    static let section = "policy"
    static let sectionVersion: UInt64 = 1

    func encode(_ w: inout ByteWriter) {
        w.varint(UInt64(channels.count))
        for c in channels { w.string(c) }
        w.varint(UInt64(sent.count))
        for c in sent.keys.sorted() {
            let list = sent[c]!
            w.varint(UInt64(c))
            w.varint(UInt64(list.count))
            for s in list { w.int(s.at); w.varint(UInt64(s.channel)) }
        }
    }

    static func decode(_ r: inout ByteReader, customers: Int) throws(SnapshotError) -> PressureLedger {
        var ledger = PressureLedger()
        for _ in 0..<(try r.count(max: 255)) { ledger.channels.append(try r.string()) }
        for _ in 0..<(try r.count()) {
            let c = try r.count()
            guard c < customers, ledger.sent[c] == nil else { throw SnapshotError("policy: customer \(c) of \(customers), or twice") }
            var list: [Sent] = []
            for _ in 0..<(try r.count()) {
                let at = try r.int()
                let channel = try r.varint()
                guard channel < UInt64(ledger.channels.count) else { throw SnapshotError("policy: channel \(channel)") }
                list.append(Sent(at: at, channel: UInt8(channel)))
            }
            ledger.sent[c] = list
        }
        return ledger
    }
}

/// Each customer's consent per channel (spec 7.3), from `consent` events: the latest by
/// `occurred_at` of the channel's own and of `any` decides (the channel's own on a tie); without
/// either, consent holds unless the policy requires an opt-in. Its own snapshot section, written
/// only when a consent event was seen, so a task without any writes the snapshot it always did.
struct ConsentLedger: Sendable {
    struct Entry: Sendable, Equatable {
        var channel: String
        var granted: Bool
        var at: Millis
    }

    private(set) var entries: [Int: [Entry]] = [:]

    var isEmpty: Bool { entries.isEmpty }

    mutating func record(_ c: Int, _ e: ConsentEvent, at t: Millis) {
        var list = entries[c] ?? []
        if let k = list.firstIndex(where: { $0.channel == e.channel }) {
            // A late event older than the one applied does not undo it; a later or equal one does.
            if t >= list[k].at { list[k] = Entry(channel: e.channel, granted: e.granted, at: t) }
        } else {
            list.append(Entry(channel: e.channel, granted: e.granted, at: t))
        }
        entries[c] = list
    }

    mutating func erase(_ c: Int) { entries[c] = nil }

    /// The entry that decides `channel` for customer `c`, if any.
    func deciding(_ c: Int, channel: String) -> Entry? {
        guard let list = entries[c] else { return nil }
        let own = list.first { $0.channel == channel }, any = list.first { $0.channel == "any" }
        switch (own, any) {
        case (let o?, let a?): return a.at > o.at ? a : o
        case (let o?, nil): return o
        case (nil, let a?): return a
        default: return nil
        }
    }

    func allows(_ c: Int, channel: String, optInRequired: Bool) -> Bool {
        deciding(c, channel: channel)?.granted ?? !optInRequired
    }

    // MARK: - Snapshot section

    static let section = "consent"
    static let sectionVersion: UInt64 = 1

    func encode(_ w: inout ByteWriter) {
        w.varint(UInt64(entries.count))
        for c in entries.keys.sorted() {
            let list = entries[c]!
            w.varint(UInt64(c))
            w.varint(UInt64(list.count))
            for e in list { w.string(e.channel); w.u8(e.granted ? 1 : 0); w.int(e.at) }
        }
    }

    static func decode(_ r: inout ByteReader, customers: Int) throws(SnapshotError) -> ConsentLedger {
        var ledger = ConsentLedger()
        for _ in 0..<(try r.count()) {
            let c = try r.count()
            guard c < customers, ledger.entries[c] == nil else { throw SnapshotError("consent: customer \(c) of \(customers), or twice") }
            var list: [Entry] = []
            for _ in 0..<(try r.count(max: 4)) {
                let channel = try r.string()
                let granted = try r.u8()
                guard Policy.channels.contains(channel), granted <= 1, !list.contains(where: { $0.channel == channel }) else {
                    throw SnapshotError("consent: bad entry for customer \(c)")
                }
                list.append(Entry(channel: channel, granted: granted == 1, at: try r.int()))
            }
            ledger.entries[c] = list
        }
        return ledger
    }
}

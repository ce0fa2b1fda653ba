/// A task's state as bytes and back: everything `apply` and `advance` read, so that a restored
/// task continues exactly as the original would have (spec section 5, Checkpoints). Each
/// customer's next wake-up is a function of its state: the `timers` section stores them so that a
/// restore under the same rules loads them instead of recomputing a million of them (a third of
/// a restore's time), and under changed rules, a family started from facts, or a snapshot
/// without the section, they are recomputed, which is how a changed rule set takes effect from
/// the snapshot's time on.
///
/// State format 2 is a list of sections, each `name, version, length, bytes`: first `core` (what
/// every family reads: rules, event time, products, the model, each customer's facts, orders,
/// views and touch ledger), then one per family (`RuleFamily.encodeSection`). A release that adds a
/// family finds no section for it and starts it from the customers' facts; a release that removes
/// one skips its section; a family's section carries its own version, so its format can evolve.
/// State format 1 (positional, before sections) is still read: `Format1.swift`.
extension CampaignTask {
    static let stateFormat: UInt64 = 2
    static let coreSection = "core"
    /// Version 2 keeps each customer as its record's bytes (`CustomerState+ArenaRecord`), so a
    /// restore copies them; version 1 wrote each field (`CustomerState.encode`) and is still read.
    static let coreSectionVersion: UInt64 = 2

    public func encodeState() -> [UInt8] {
        var w = ByteWriter()
        w.varint(Self.stateFormat)
        var sections = EncodeSections()
        sections.add(Self.coreSection, Self.coreSectionVersion) { encodeCore(&$0) }
        families.readAll(&sections, core)
        encodeOutcomeSections(&sections)
        sections.add(Self.timersSection, Self.timersSectionVersion) { encodeTimers(&$0) }
        w.varint(UInt64(sections.list.count))
        for s in sections.list {
            w.string(s.name)
            w.varint(s.version)
            w.varint(UInt64(s.bytes.count))
            w.bytes.append(contentsOf: s.bytes)
        }
        return w.bytes
    }

    func encodeCore(_ w: inout ByteWriter) {
        w.varint(UInt64(rules.rules.count))
        for r in rules.rules { w.string(r.id) }
        w.int(core.watermark)
        w.int(core.timerClock)
        w.int(core.viewSequence)
        w.int(stats.eventsApplied); w.int(stats.lateEvents); w.int(stats.ignoredOrderEvents)
        w.int(stats.triggers); w.int(stats.conversions)
        w.varint(UInt64(core.productNames.count))
        for p in core.productNames { w.string(p) }
        core.model.encode(&w)
        w.varint(UInt64(core.customers.count))
        core.customers.records.encodeRecords(&w)
    }

    /// Restores a task from `encodeState()` bytes (format 2, or format 1 of earlier releases) under
    /// `rules`. Rules are matched by id: touches of rules that are gone are dropped, and every
    /// customer is rescheduled under the new rules from the snapshot's time (no retroactive
    /// touches). A section this build cannot read is refused with the snapshot, never guessed at.
    public init(restoring bytes: [UInt8], rules: RuleSet, allowedLatenessMs: Millis = 0) throws(SnapshotError) {
        self.init(rules: rules, allowedLatenessMs: allowedLatenessMs)
        var r = ByteReader(bytes)
        var timersRestored = false
        switch try r.varint() {
        case 1:
            try restoreFormat1(&r)
        case Self.stateFormat:
            timersRestored = try restoreSections(&r)
        case let other:
            throw SnapshotError("state format \(other), this build reads 1 and \(Self.stateFormat)")
        }
        guard r.atEnd else { throw SnapshotError("\(r.bytes.count - r.i) unexpected bytes after the state") }
        guard !timersRestored else { return }
        for c in core.customers.indices {
            select(c)
            reschedule(c)
        }
    }

    static let timersSection = "timers"
    static let timersSectionVersion: UInt64 = 1

    /// The rules' hash (stored timers hold only under the rules that set them), then each
    /// customer with a timer: the gap from the previous customer's number, and the due time.
    func encodeTimers(_ w: inout ByteWriter) {
        w.string(rules.hash)
        let entries = timers.entries()
        w.varint(UInt64(entries.count))
        var previous: Int32 = -1
        for e in entries {
            w.varint(UInt64(e.customer - previous))
            w.int(e.due)
            previous = e.customer
        }
    }

    /// Loads the stored timers when they hold: the section is there, of a version this build
    /// reads, written under these rules, and every family was restored from its own section.
    /// Returns whether it loaded them (else the caller recomputes every customer's).
    mutating func restoreTimers(_ section: (version: UInt64, bytes: ArraySlice<UInt8>)?, familiesComplete: Bool) throws(SnapshotError) -> Bool {
        guard let section, familiesComplete else { return false }
        guard section.version <= Self.timersSectionVersion else {
            throw SnapshotError("section \(Self.timersSection) version \(section.version), this build reads 1 to \(Self.timersSectionVersion)")
        }
        var r = ByteReader(Array(section.bytes))
        guard try r.string() == rules.hash else { return false }
        let count = try r.count()
        let customers = core.customers.count
        guard count <= customers else { throw SnapshotError("section timers: \(count) timers for \(customers) customers") }
        var entries: [(customer: Int32, due: Millis)] = []
        entries.reserveCapacity(count)
        var c = -1
        for _ in 0..<count {
            let gap = try r.varint()
            guard gap >= 1, gap <= UInt64(customers - 1 - c) else { throw SnapshotError("section timers: customer number out of order or range") }
            c += Int(gap)
            entries.append((Int32(c), try r.int()))
        }
        guard r.atEnd else { throw SnapshotError("section timers: \(r.bytes.count - r.i) unexpected bytes") }
        timers.load(entries, customers: customers, ids: core.customers)
        return true
    }

    /// Returns whether the stored timers were loaded.
    mutating func restoreSections(_ r: inout ByteReader) throws(SnapshotError) -> Bool {
        var sections: [String: (version: UInt64, bytes: ArraySlice<UInt8>)] = [:]
        var order: [String] = []
        for _ in 0..<(try r.count()) {
            let name = try r.string()
            let version = try r.varint()
            let n = try r.count()
            guard n <= r.bytes.count - r.i else { throw SnapshotError("section \(name): \(n) bytes, \(r.bytes.count - r.i) left") }
            guard sections[name] == nil else { throw SnapshotError("section \(name) twice") }
            sections[name] = (version, r.bytes[r.i..<(r.i + n)])
            order.append(name)
            r.i += n
        }
        guard let coreBytes = sections[Self.coreSection], order.first == Self.coreSection else {
            throw SnapshotError("no core section first")
        }
        guard (1...Self.coreSectionVersion).contains(coreBytes.version) else {
            throw SnapshotError("core section version \(coreBytes.version), this build reads 1 to \(Self.coreSectionVersion)")
        }
        var cr = ByteReader(Array(coreBytes.bytes))
        let remap = try decodeCore(&cr, version: coreBytes.version)
        guard cr.atEnd else { throw SnapshotError("section core: \(cr.bytes.count - cr.i) unexpected bytes") }
        var decode = DecodeSections(sections: sections, remap: remap)
        families.visitAll(&decode, &core)
        if let error = decode.error { throw error }
        let notes = try restoreOutcomeSections(sections, remap: remap)
        let timersRestored = try restoreTimers(sections[Self.timersSection], familiesComplete: decode.notes.isEmpty && !decode.olderVersion)
        let known = Set([Self.coreSection, Self.timersSection] + Self.outcomeSections + RuleSet.families)
        restoreNotes = decode.notes + notes
            + order.filter { !known.contains($0) }.map { "section \($0): no such family in this release, dropped" }
        return timersRestored
    }

    /// Reads the core section; returns the snapshot's rule indices renumbered into `rules`.
    mutating func decodeCore(_ r: inout ByteReader, version: UInt64) throws(SnapshotError) -> RuleRemap {
        let remap = try decodeTaskWide(&r)
        let count = try r.count()
        core.customers.reserveCapacity(count)
        if version == 1 {
            for _ in 0..<count { try add(try CustomerState(decoding: &r, remap: remap)) }
            return remap
        }
        try CustomerState.decodeRecords(&r, count: count, products: core.productNames.count, remap: remap) {
            (state, encoded) throws(SnapshotError) in
            if let encoded {
                guard core.customers.addIfAbsent(encoded: encoded, id: state.id) else { throw SnapshotError("customer \(state.id) twice") }
            } else {
                guard state.id.isEmpty || core.customers.find(state.id) == nil else { throw SnapshotError("customer \(state.id) twice") }
                _ = core.customers.add(state)
            }
        }
        return remap
    }

    /// What comes before the customers in formats 1 and 2: rule ids, event time, counters,
    /// products and the model. Returns the rules renumbered into `rules`.
    mutating func decodeTaskWide(_ r: inout ByteReader) throws(SnapshotError) -> RuleRemap {
        let remap = try Self.decodeRuleIds(&r, rules: rules)
        core.watermark = try r.int()
        core.timerClock = try r.int()
        core.viewSequence = try r.int()
        stats.eventsApplied = Int(try r.int()); stats.lateEvents = Int(try r.int())
        stats.ignoredOrderEvents = Int(try r.int()); stats.triggers = Int(try r.int())
        stats.conversions = Int(try r.int())
        let productCount = try r.count()
        for _ in 0..<productCount {
            let name = try r.string()
            guard core.productIndex[name] == nil else { throw SnapshotError("product \(name) twice") }
            core.productIndex[name] = Int32(core.productNames.count)
            core.productNames.append(name)
        }
        core.model = try Recommender(decoding: &r, maxNeighbours: core.settings.maxNeighbours)
        guard core.model.counts.count <= productCount else {
            throw SnapshotError("a model of \(core.model.counts.count) products, \(productCount) named")
        }
        core.model.rebuildStrongest(names: core.productNames)
        return remap
    }

    static func decodeRuleIds(_ r: inout ByteReader, rules: RuleSet) throws(SnapshotError) -> RuleRemap {
        var ids: [String] = []
        for _ in 0..<(try r.count()) { ids.append(try r.string()) }
        let newIndex = Dictionary(uniqueKeysWithValues: rules.rules.enumerated().map { ($1.id, Int32($0)) })
        return RuleRemap(map: ids.map { newIndex[$0] ?? -1 })
    }

    /// Adds a restored customer (its families' state is read after all customers).
    mutating func add(_ c: CustomerState) throws(SnapshotError) {
        guard core.customers.find(c.id) == nil else { throw SnapshotError("customer \(c.id) twice") }
        _ = core.customers.add(c)
    }
}

struct EncodeSections: FamilyReader {
    var list: [(name: String, version: UInt64, bytes: [UInt8])] = []

    mutating func add(_ name: String, _ version: UInt64, _ body: (inout ByteWriter) -> Void) {
        var w = ByteWriter()
        body(&w)
        list.append((name, version, w.bytes))
    }

    mutating func read<F: RuleFamily>(_ family: F, _ core: TaskCore) {
        add(F.name, F.sectionVersion) { family.encodeSection(&$0, core) }
    }
}

private struct DecodeSections: FamilyVisitor {
    let sections: [String: (version: UInt64, bytes: ArraySlice<UInt8>)]
    let remap: RuleRemap
    var notes: [String] = []
    var error: SnapshotError?
    /// A family's section was written in an older version than this build's: a release that
    /// changed the family may wake its customers differently, so stored timers are not trusted.
    var olderVersion = false

    init(sections: [String: (version: UInt64, bytes: ArraySlice<UInt8>)], remap: RuleRemap) {
        self.sections = sections
        self.remap = remap
    }

    mutating func visit<F: RuleFamily>(_ family: inout F, _ core: inout TaskCore) {
        guard error == nil else { return }
        guard let s = sections[F.name] else {
            notes.append("section \(F.name): not in the snapshot, started from the customers' facts")
            family.startFromFacts(core)
            return
        }
        guard s.version <= F.sectionVersion else {
            error = SnapshotError("section \(F.name) version \(s.version), this build reads up to \(F.sectionVersion)")
            return
        }
        if s.version < F.sectionVersion { olderVersion = true }
        var r = ByteReader(Array(s.bytes))
        do {
            try family.decodeSection(&r, version: s.version, core, remap: remap)
            if !r.atEnd { error = SnapshotError("section \(F.name): \(r.bytes.count - r.i) unexpected bytes") }
        } catch {
            self.error = SnapshotError("section \(F.name): \(error.message)")
        }
    }
}

extension CustomerState {
    func encode(_ w: inout ByteWriter) {
        w.string(id)
        w.int(facts.completedOrders); w.int(facts.lastPurchaseAt); w.int(facts.firstPurchaseAt)
        w.double(facts.totalSpent); w.bool(facts.vipCard)
        let sorted = orders.sorted { RuleSet.byteLess($0.orderId, $1.orderId) }
        w.varint(UInt64(sorted.count))
        for o in sorted {
            w.string(o.orderId)
            w.int(o.status.map { Int64($0.rawValue) } ?? -1)
            w.varint(UInt64(o.eventIds.count))
            for e in o.eventIds { w.string(e) }
            w.ints(o.products)
            w.bool(o.converted); w.bool(o.creditedToModel); w.bool(o.everCompleted)
        }
        w.varint(UInt64(purchases.count))
        for p in purchases { w.string(p.orderId); w.int(p.at); w.double(p.total) }
        w.optionalInt(firstSeen); w.optionalInt(lastSignal)
        w.varint(UInt64(views.count))
        for v in views { w.int(v.product); w.int(v.at); w.int(v.seq) }
        w.ints(viewedEver)
        w.varint(UInt64(fired.count))
        for f in fired { w.int(f.rule); w.int(f.anchor); w.int(f.touch) }
        w.varint(UInt64(openTouches.count))
        for t in openTouches { w.int(t.rule); w.int(t.touch); w.int(t.firedAt); w.int(t.windowEnd) }
    }

    /// The order records and purchases of a snapshot (formats 1 and 2 write them alike).
    mutating func decodeOrders(_ r: inout ByteReader) throws(SnapshotError) {
        for _ in 0..<(try r.count()) {
            let orderId = try r.string()
            var o = OrderRecord(orderId: orderId)
            let status = try r.int()
            if status >= 0 {
                guard let s = OrderStatus(rawValue: UInt8(clamping: status)), Int64(s.rawValue) == status else {
                    throw SnapshotError("bad order status \(status)")
                }
                o.status = s
            }
            for _ in 0..<(try r.count()) { o.eventIds.append(try r.string()) }
            o.products = try r.ints()
            o.converted = try r.bool(); o.creditedToModel = try r.bool(); o.everCompleted = try r.bool()
            guard orderIndex(orderId) == nil else { throw SnapshotError("order \(orderId) twice") }
            orders.append(o)
        }
        for _ in 0..<(try r.count()) {
            purchases.append(.init(orderId: try r.string(), at: try r.int(), total: try r.double()))
        }
    }

    mutating func decodeViews(_ r: inout ByteReader) throws(SnapshotError) {
        for _ in 0..<(try r.count()) { views.append(.init(product: try r.int32(), at: try r.int(), seq: try r.int())) }
        viewedEver = try r.ints()
    }

    mutating func decodeLedger(_ r: inout ByteReader, remap: RuleRemap) throws(SnapshotError) {
        for _ in 0..<(try r.count()) {
            let f = FiredTouch(rule: try remap(try r.int32()), anchor: try r.int(), touch: try r.int32())
            if f.rule >= 0 { fired.append(f) }
        }
    }

    init(decoding r: inout ByteReader, remap: RuleRemap) throws(SnapshotError) {
        self.init(id: try r.string())
        facts.completedOrders = Int(try r.int())
        facts.lastPurchaseAt = try r.int()
        facts.firstPurchaseAt = try r.int()
        facts.totalSpent = try r.double()
        facts.vipCard = try r.bool()
        try decodeOrders(&r)
        firstSeen = try r.optionalInt(); lastSignal = try r.optionalInt()
        try decodeViews(&r)
        try decodeLedger(&r, remap: remap)
        for _ in 0..<(try r.count()) {
            let t = OpenTouch(rule: try remap(try r.int32()), touch: try r.int32(), firedAt: try r.int(), windowEnd: try r.int())
            if t.rule >= 0 { openTouches.append(t) }
        }
    }
}

extension Recommender {
    /// Occurrence counts, then each product's neighbours by product index.
    func encode(_ w: inout ByteWriter) {
        w.varint(UInt64(counts.count))
        for (p, c) in counts.enumerated() {
            w.int(c)
            let neighbours = neighbors[p].sorted
            w.varint(UInt64(neighbours.count))
            for (q, n) in neighbours { w.int(q); w.int(n) }
        }
    }

    /// Reads `encode`'s counts; the strongest neighbours are rebuilt from them by the caller.
    init(decoding r: inout ByteReader, maxNeighbours: Int) throws(SnapshotError) {
        self.init(maxNeighbours: maxNeighbours)
        let modelCount = try r.count()
        counts.reserveCapacity(modelCount)
        for _ in 0..<modelCount {
            counts.append(try r.int32())
            var neighbours = Recommender.Neighbours()
            for _ in 0..<(try r.count()) {
                let q = try r.int32()
                guard q >= 0 && Int(q) < modelCount else { throw SnapshotError("neighbour \(q) of \(modelCount) products") }
                guard neighbours.slot[q] == nil else { throw SnapshotError("neighbour \(q) twice") }
                neighbours.add(q, try r.int32())
            }
            neighbors.append(neighbours)
        }
    }
}

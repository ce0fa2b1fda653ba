/// `view.abandoned` parameters (spec 3.6, 3.8 item 7, seed 003).
public struct AbandonedViewRule: Sendable, Equatable {
    public var delayMs: Millis
    public var windowMs: Millis
    public var maxProducts: Int
    public var maxRecommendations: Int
    public var reofferMs: Millis

    static let ranges: [String: ParamRange] = [
        "delay_minutes": .number(0...ParamRange.maxSpanDays * 1_440, "minutes"),
        "window_hours": .above(0, upTo: ParamRange.maxSpanDays * 24, "hours"),
        "max_products": .whole(1...100, "products"), "max_recommendations": .recommendations,
        "reoffer_after_days": .days,
    ]

    init(_ p: inout RuleParams) throws(RuleError) {
        delayMs = RuleParams.millis(try p.number("delay_minutes"), per: millisPerMinute)
        windowMs = RuleParams.millis(try p.number("window_hours"), per: millisPerHour)
        maxProducts = try p.int("max_products")
        maxRecommendations = try p.int("max_recommendations")
        reofferMs = try p.days("reoffer_after_days")
    }
}

/// The `views` family (spec 3.6, 3.8 item 7): `view.abandoned` fires some time after a customer's
/// last product view with the viewed-not-ordered products and recommendations. Its parameter
/// `coview_window_hours` also sets the co-view window of the model every family recommends from.
/// Its state per customer: the last view's time, the orders that mentioned products, and what was
/// offered when.
struct ViewsFamily: RuleFamily {
    struct State: ArenaRecord {
        var lastView: Millis?
        var orderMentions: [OrderMention] = []
        var offered: [Offered] = []

        func encodeRecord(_ w: inout ByteWriter) {
            w.optionalInt(lastView)
            w.varint(UInt64(orderMentions.count))
            for m in orderMentions { w.int(m.at); w.ints(m.products) }
            w.varint(UInt64(offered.count))
            for o in offered { w.int(o.rule); w.int(o.product); w.int(o.at) }
        }

        mutating func decodeRecord(_ r: inout ArenaReader) {
            let hasLastView = r.u8()
            if hasLastView > 1 { r.fail() }
            lastView = hasLastView != 0 ? r.int() : nil
            let n = r.count()
            if orderMentions.count > n { orderMentions.removeLast(orderMentions.count - n) }
            for k in 0..<n {
                if k == orderMentions.count { orderMentions.append(OrderMention(at: 0, products: [])) }
                orderMentions[k].at = r.int()
                r.ints(into: &orderMentions[k].products)
            }
            let nOffered = r.count()
            offered.empty(for: nOffered)
            for _ in 0..<nOffered { offered.append(Offered(rule: r.int32(), product: r.int32(), at: r.int())) }
        }

        var heapBytes: Int { orderMentions.heapBytes + orderMentions.reduce(0) { $0 + $1.products.heapBytes } + offered.heapBytes }

        mutating func restored(products: Int, remap: RuleRemap) throws(SnapshotError) -> Bool {
            let known = 0..<Int32(clamping: products)
            guard orderMentions.allSatisfy({ $0.products.allSatisfy(known.contains) }), offered.allSatisfy({ known.contains($0.product) })
            else { throw SnapshotError("a product number past the snapshot's \(products) products") }
            var changed = false
            for k in offered.indices { try remap.renumber(&offered[k].rule, &changed) }
            offered.removeAll { $0.rule < 0 }
            return changed
        }
    }

    struct OrderMention: Sendable, Equatable {
        var at: Millis
        var products: [Int32]
    }

    struct Offered: Sendable, Equatable {
        var rule: Int32
        var product: Int32
        var at: Millis
    }

    static let name = "views"
    static let kinds = ["abandoned"]
    static let familyRanges: [String: ParamRange] = [
        "coview_window_hours": .above(0, upTo: ParamRange.maxSpanDays * 24, "hours"),
        "max_neighbours": .whole(0...1_000_000, "products (0: all)"),
    ]
    static func kindRanges(_ kind: String) -> [String: ParamRange] { AbandonedViewRule.ranges }

    let coviewWindowMs: Millis
    /// Neighbours per product that recommendations score with (0: all; spec 3.6).
    let maxNeighbours: Int
    var rules: [Indexed<AbandonedViewRule>] = [] {
        didSet {
            retentionMs = rules.reduce(coviewWindowMs) { max($0, $1.rule.windowMs) }
            longestReofferMs = rules.reduce(0) { max($0, $1.rule.reofferMs) }
        }
    }
    /// How long views and order mentions are kept: the longest window that reads them.
    private(set) var retentionMs: Millis
    private(set) var longestReofferMs: Millis = 0
    var states = RecordArena<State>()

    init(_ p: inout RuleParams, shop: ShopParameters) throws(RuleError) {
        coviewWindowMs = RuleParams.millis(try p.number("coview_window_hours"), per: millisPerHour)
        maxNeighbours = try p.int("max_neighbours")
        retentionMs = coviewWindowMs
    }

    func compile(kind: String, _ p: inout RuleParams, common: TouchSpec) throws(RuleError) -> (AbandonedViewRule, [TouchSpec]) {
        (try AbandonedViewRule(&p), [common])
    }

    func configure(_ settings: inout CoreSettings) {
        settings.coviewWindowMs = coviewWindowMs
        settings.maxNeighbours = maxNeighbours
        settings.viewRetentionMs = max(settings.viewRetentionMs, retentionMs)
    }

    mutating func addCustomer() { states.append(State()) }
    mutating func erase(_ c: Int) {
        states.checkout(c)
        states[c] = State()
    }
    mutating func select(_ c: Int) { states.checkout(c) }

    mutating func onEvent(_ e: AppliedEvent, _ c: Int, _ core: inout TaskCore, fired: inout [EventFiring]) {
        switch e {
        case .order(_, let products, let t, _):
            if !products.isEmpty { states[c].orderMentions.append(OrderMention(at: t, products: products)) }
        case .view(_, let t, _):
            states[c].lastView = max(states[c].lastView ?? t, t)
        case .email:
            break
        }
    }

    func candidates<S: WakeSink>(_ c: Int, _ core: TaskCore, _ body: inout S) {
        guard let last = states[c].lastView else { return }
        for r in rules { body.add(r.index, 1, last.adding(r.rule.delayMs), .min) }
    }

    func holds(_ local: Int, touch: Int32, _ c: Int, _ core: TaskCore) -> Bool { true }

    /// Spec 3.6 and 3.8 item 7.
    mutating func fire(_ local: Int, touch: Int32, _ c: Int, at w: Millis, _ core: inout TaskCore) -> Firing? {
        let a = rules[local].rule, ri = rules[local].index
        let from = w.subtracting(a.windowMs)
        var ordered: [Int32] = []
        for m in states[c].orderMentions where m.at > from && m.at <= w { ordered += m.products }
        let offered = states[c].offered
        let carried = core.customers[current: c].views
            .filter { v in
                v.at > from && v.at <= w && !ordered.contains(v.product)
                    && !offered.contains { $0.rule == ri && $0.product == v.product && w < $0.at.adding(a.reofferMs) }
            }
            .sorted { $0.at != $1.at ? $0.at > $1.at : $0.seq > $1.seq }
            .prefix(a.maxProducts)
        guard !carried.isEmpty else { return nil }
        let seeds = carried.map(\.product)
        for p in seeds { states[c].offered.append(Offered(rule: ri, product: p, at: w)) }
        let recs = core.recommend(c, seeds: seeds, limit: a.maxRecommendations)
        return Firing(
            products: carried.map { CarriedProduct(productId: core.productNames[Int($0.product)], viewedAt: $0.at) },
            recommendations: recs)
    }

    mutating func prune(_ c: Int, _ core: TaskCore) {
        guard core.watermark != .min else { return }
        let horizon = core.watermark.subtracting(retentionMs)
        states[c].orderMentions.removeAll { $0.at <= horizon }
        let offeredHorizon = core.watermark.subtracting(longestReofferMs)
        states[c].offered.removeAll { $0.at <= offeredHorizon }
    }

    /// Version 2 keeps each customer's record bytes (`State`); version 1 wrote the same fields
    /// with the snapshot codec and is still read.
    static let sectionVersion: UInt64 = 2

    func encodeSection(_ w: inout ByteWriter, _ core: TaskCore) { states.encodeRecords(&w) }

    mutating func decodeSection(_ r: inout ByteReader, version: UInt64, _ core: TaskCore, remap: RuleRemap) throws(SnapshotError) {
        states = RecordArena()
        states.reserveCapacity(core.customers.count)
        if version >= 2 {
            var restored = RecordArena<State>()
            restored.reserveCapacity(core.customers.count)
            try State.decodeRecords(&r, count: core.customers.count, products: core.productNames.count, remap: remap) {
                (state, encoded) throws(SnapshotError) in
                if let encoded { restored.append(encoded: encoded) } else { restored.append(state) }
            }
            states = restored
            return
        }
        for _ in core.customers.indices {
            var s = State(lastView: try r.optionalInt())
            for _ in 0..<(try r.count()) { s.orderMentions.append(OrderMention(at: try r.int(), products: try r.ints())) }
            for _ in 0..<(try r.count()) {
                let o = Offered(rule: try remap(try r.int32()), product: try r.int32(), at: try r.int())
                if o.rule >= 0 { s.offered.append(o) }
            }
            states.append(s)
        }
    }

    mutating func startFromFacts(_ core: TaskCore) {
        states = RecordArena()
        for c in core.customers { states.append(State(lastView: c.views.map(\.at).max())) }
    }

    mutating func migrate(format1 customers: [Format1Customer], _ core: TaskCore) {
        states = RecordArena()
        for c in customers { states.append(State(lastView: c.lastView, orderMentions: c.orderMentions, offered: c.offered)) }
    }
}

extension RuleSet {
    /// `families.views.max_neighbours`: neighbours per product that recommendations score with.
    public var maxNeighbours: Int { families.views.maxNeighbours }
}

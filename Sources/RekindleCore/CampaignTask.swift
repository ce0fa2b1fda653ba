/// Counters a task keeps about what it was given.
public struct TaskStats: Sendable, Equatable {
    public var eventsApplied = 0
    /// Events older than the watermark on arrival: applied to facts, fired nothing.
    public var lateEvents = 0
    /// Order events that repeated an applied event id or the order's current status.
    public var ignoredOrderEvents = 0
    public var triggers = 0
    public var conversions = 0
}

/// One task of spec section 4: the pure fold of the events of its customers.
///
/// Like Flink's `KeyedProcessFunction` it has two entry points: `apply` for an event and
/// `advance` for event time. Nothing here reads a clock or does I/O: the same calls give the
/// same outputs, which is what makes a replay equal a live run and recovery a re-fold.
public struct CampaignTask: Sendable {
    public let rules: RuleSet
    public let allowedLatenessMs: Millis
    /// The largest `occurred_at` applied minus the allowed lateness (or what `advance` set).
    public internal(set) var watermark: Millis = .min
    /// Every timer due at or before this instant has fired; touches due then have passed.
    var timerClock: Millis = .min
    public internal(set) var stats = TaskStats()

    var customers: [CustomerState] = []
    var customerIndex: [String: Int32] = [:]
    var productNames: [String] = []
    var productIndex: [String: Int32] = [:]
    var model = Recommender()
    var timers = TimerQueue()
    var viewSequence: Int64 = 0
    /// How long views and order mentions are kept: the longest window that reads them.
    let retentionMs: Millis
    let longestReofferMs: Millis
    let tracksEngagement: Bool

    public init(rules: RuleSet, allowedLatenessMs: Millis = 0) {
        self.rules = rules
        self.allowedLatenessMs = allowedLatenessMs
        var retention = rules.coviewWindowMs
        var reoffer: Millis = 0
        var engagement = false
        for r in rules.rules {
            switch r.kind {
            case .abandonedView(let a):
                retention = max(retention, a.windowMs)
                reoffer = max(reoffer, a.reofferMs)
            case .cooled, .rewarmed: engagement = true
            default: break
            }
        }
        retentionMs = retention
        longestReofferMs = reoffer
        tracksEngagement = engagement
        model = Recommender(maxNeighbours: rules.maxNeighbours)
    }

    public var customerCount: Int { customers.count }
    public var pendingTimers: Int { timers.count }
    public var nextTimerDue: Millis? { timers.nextDue }

    // MARK: - Entry points

    /// Applies one event. Timers due before its time fire first; a late event (older than the
    /// watermark) changes the customer's facts and fires nothing. An event that the customer's
    /// state cannot take (an order total that would make the total spent overflow) is refused
    /// whole, before anything happens: the caller dead-letters it with the returned reason.
    @discardableResult
    public mutating func apply(_ event: Event, into out: inout [Output]) -> InputError? {
        // One lookup serves the refusal check and the fold (timers firing add no customer).
        let known = customerIndex[event.customerId].map { Int($0) }
        if let refusal = refusal(of: event, customer: known) { return refusal }
        let t = event.occurredAt
        let late = watermark != .min && t < watermark
        if !late { fireTimers(upTo: t.subtracting(allowedLatenessMs).subtracting(1), into: &out) }
        let c = known ?? intern(customer: event.customerId)
        var fired: [EventFiring] = []
        applyFacts(event, c, late: late, fired: &fired, out: &out)
        stats.eventsApplied += 1
        if late {
            stats.lateEvents += 1
        } else {
            fired.sort { $0.rule != $1.rule ? $0.rule < $1.rule : $0.touch < $1.touch }
            for f in fired {
                emit(c, rule: f.rule, touch: f.touch, at: t, offer: nil, products: nil,
                     recommendations: f.recommendations, into: &out)
            }
            watermark = max(watermark, t.subtracting(allowedLatenessMs))
        }
        reschedule(c)
        return nil
    }

    /// Why `event` cannot be applied, if it cannot: spec outputs carry `total_spent` as a JSON
    /// number, so an order whose completion (or removal, which re-sums the rest) would make the
    /// sum infinite or NaN is a bad input. Changes nothing.
    /// `c` is the customer's index, nil for a customer not seen yet.
    func refusal(of event: Event, customer c: Int?) -> InputError? {
        guard case .order(let o) = event.body else { return nil }
        // Read in place: copying the customer would retain every one of its arrays.
        let k = c.flatMap { customers[$0].orderIndex(o.orderId) }
        var wasCompleted = false
        if let c, let k {
            if customers[c].orders[k].ignores(eventId: event.eventId, status: o.status) { return nil }
            wasCompleted = customers[c].orders[k].status == .completed
        }
        let sum: Double
        if o.status == .completed {
            sum = (c.map { customers[$0].facts.totalSpent } ?? 0) + o.total
        } else if let c, wasCompleted {
            sum = customers[c].purchases.reduce(0.0) { $1.orderId == o.orderId ? $0 : $0 + $1.total }
        } else {
            return nil
        }
        guard sum.isFinite else {
            return InputError(
                .totalOverflow,
                "total: \(JSONWriter.number(o.total)) would make customer \(JSONWriter.quoted(event.customerId))'s "
                    + "total_spent overflow a 64-bit float")
        }
        return nil
    }

    /// Advances event time to `t`: every timer due at or before `t` fires.
    public mutating func advance(to t: Millis, into out: inout [Output]) {
        fireTimers(upTo: t, into: &out)
        watermark = max(watermark, t)
    }

    // MARK: - Facts

    struct EventFiring {
        var rule: Int32
        var touch: Int32
        var recommendations: [String]?
    }

    mutating func intern(customer id: String) -> Int {
        if let i = customerIndex[id] { return Int(i) }
        customers.append(CustomerState(id: id))
        customerIndex[id] = Int32(customers.count - 1)
        return customers.count - 1
    }

    mutating func intern(product id: String) -> Int32 {
        if let i = productIndex[id] { return i }
        productNames.append(id)
        let i = Int32(productNames.count - 1)
        productIndex[id] = i
        return i
    }

    mutating func applyFacts(_ e: Event, _ c: Int, late: Bool, fired: inout [EventFiring], out: inout [Output]) {
        let t = e.occurredAt
        switch e.body {
        case .order(let o):
            let at = customers[c].orderIndex(o.orderId)
            var order = at.map { customers[c].orders[$0] } ?? CustomerState.OrderRecord(orderId: o.orderId)
            if order.ignores(eventId: e.eventId, status: o.status) {
                stats.ignoredOrderEvents += 1
                return
            }
            signal(c, at: t, late: late, fired: &fired)
            order.eventIds.append(e.eventId)
            let previous = order.status
            order.status = o.status
            if !o.items.isEmpty {
                var products: [Int32] = []
                for item in o.items {
                    let p = intern(product: item.productId)
                    if !products.contains(p) { products.append(p) }
                }
                order.products = products
            }
            if o.loyaltyTier == "vip" { customers[c].facts.vipCard = true }
            if !order.products.isEmpty {
                customers[c].orderMentions.append(.init(at: t, products: order.products))
            }
            if o.status == .completed {
                order.everCompleted = true
                customers[c].purchases.append(.init(orderId: o.orderId, at: t, total: o.total))
                customers[c].recomputeFacts()
                if !order.converted, let conversion = attribute(c, orderId: o.orderId, at: t, revenue: o.total) {
                    order.converted = true
                    out.append(.conversion(conversion))
                    stats.conversions += 1
                }
                if !order.creditedToModel && !order.products.isEmpty {
                    model.addBasket(order.products, names: productNames)
                    order.creditedToModel = true
                }
                customers[c].store(order, at: at)
                if !late { checkRise(c, at: t, fired: &fired) }
            } else {
                if previous == .completed {
                    customers[c].purchases.removeAll { $0.orderId == o.orderId }
                    customers[c].recomputeFacts()
                }
                customers[c].store(order, at: at)
            }
            checkVIP(c, late: late, fired: &fired)
        case .productView(let v):
            signal(c, at: t, late: late, fired: &fired)
            recordView(c, product: intern(product: v.productId), at: t)
        case .email:
            signal(c, at: t, late: late, fired: &fired)
        }
        prune(c)
    }

    /// Any signal (spec 3.5) makes the customer seen and warm; ending a cold spell fires
    /// `engagement.rewarmed`.
    mutating func signal(_ c: Int, at t: Millis, late: Bool, fired: inout [EventFiring]) {
        customers[c].firstSeen = min(customers[c].firstSeen ?? t, t)
        if !late && customers[c].cold {
            customers[c].cold = false
            for (i, r) in rules.rules.enumerated() where r.kind == .rewarmed {
                fired.append(EventFiring(rule: Int32(i), touch: 1))
            }
        }
        customers[c].lastSignal = max(customers[c].lastSignal ?? t, t)
    }

    mutating func recordView(_ c: Int, product p: Int32, at t: Millis) {
        viewSequence += 1
        let window = rules.coviewWindowMs
        let existing = customers[c].views.firstIndex { $0.product == p }
        // A view starts a new co-view episode unless the product was viewed within the window.
        let isNew = existing.map { abs(customers[c].views[$0].at - t) >= window } ?? true
        if isNew {
            model.addOccurrence(p)
            for v in customers[c].views where v.product != p && abs(v.at - t) < window {
                model.addPair(p, v.product, names: productNames)
            }
        }
        if let k = existing {
            // A re-delivered view (same product, same instant) changes nothing.
            if t > customers[c].views[k].at {
                customers[c].views[k].at = t
                customers[c].views[k].seq = viewSequence
            }
        } else {
            customers[c].views.append(.init(product: p, at: t, seq: viewSequence))
        }
        customers[c].lastView = max(customers[c].lastView ?? t, t)
        if !customers[c].viewedEver.contains(p) { customers[c].viewedEver.append(p) }
    }

    mutating func prune(_ c: Int) {
        guard watermark != .min else { return }
        let horizon = watermark.subtracting(retentionMs)
        customers[c].views.removeAll { $0.at <= horizon }
        customers[c].orderMentions.removeAll { $0.at <= horizon }
        let offeredHorizon = watermark.subtracting(longestReofferMs)
        customers[c].offered.removeAll { $0.at <= offeredHorizon }
        customers[c].openTouches.removeAll { $0.windowEnd < watermark }
    }

    /// Last-touch attribution (spec section 2): the latest touch with `fired_at < t <= fired_at + window`.
    func attribute(_ c: Int, orderId: String, at t: Millis, revenue: Double) -> Conversion? {
        guard let touch = customers[c].openTouches.last(where: { $0.firedAt < t && t <= $0.windowEnd }) else { return nil }
        let ruleId = rules.rules[Int(touch.rule)].id
        return Conversion(
            triggerId: Trigger.id(ruleId: ruleId, customerId: customers[c].id, firedAt: touch.firedAt, touch: Int(touch.touch)),
            ruleId: ruleId, touch: Int(touch.touch),
            customerId: customers[c].id, orderId: orderId, convertedAt: t, revenue: revenue,
            hoursAfterTrigger: Double(t - touch.firedAt) / Double(millisPerHour))
    }

    mutating func checkRise(_ c: Int, at t: Millis, fired: inout [EventFiring]) {
        let times = customers[c].purchases.map(\.at)
        for (i, r) in rules.rules.enumerated() {
            guard case .rise(let rise) = r.kind else { continue }
            let last = customers[c].lastRise.last { $0.rule == Int32(i) }?.at
            guard rise.fires(at: t, purchaseTimes: times, lastFired: last) else { continue }
            customers[c].lastRise.removeAll { $0.rule == Int32(i) }
            customers[c].lastRise.append(.init(rule: Int32(i), at: t))
            var seeds: [Int32] = []
            for p in customers[c].purchases {
                guard let k = customers[c].orderIndex(p.orderId) else { continue }
                for q in customers[c].orders[k].products where !seeds.contains(q) { seeds.append(q) }
            }
            let recs = model.recommend(
                seeds: seeds, excluded: knownProducts(c), limit: rise.maxRecommendations, names: productNames)
            fired.append(EventFiring(rule: Int32(i), touch: 1, recommendations: recs))
        }
    }

    mutating func checkVIP(_ c: Int, late: Bool, fired: inout [EventFiring]) {
        for (i, r) in rules.rules.enumerated() {
            guard case .vip(let vip) = r.kind else { continue }
            let once = CustomerState.FiredTouch(rule: Int32(i), anchor: .min, touch: 1)
            guard !customers[c].hasFired(once), vip.qualifies(customers[c].facts) else { continue }
            customers[c].fired.append(once)
            customers[c].facts.vipEntered = true
            // A late event's moment has passed: it is remembered, not fired.
            if !late { fired.append(EventFiring(rule: Int32(i), touch: 1)) }
        }
    }

    /// Products the customer ever viewed or bought (in an order that completed, even if it was
    /// returned later): never recommended to them.
    func knownProducts(_ c: Int) -> [Int32] {
        var known = customers[c].viewedEver
        for order in customers[c].orders where order.everCompleted { known += order.products }
        return known
    }

    // MARK: - Timers

    mutating func fireTimers(upTo limit: Millis, into out: inout [Output]) {
        while let entry = timers.popDue(upTo: limit) {
            let c = Int(entry.customer)
            customers[c].scheduled = nil
            timerClock = max(timerClock, entry.due)
            fireDue(c, at: entry.due, into: &out)
            reschedule(c)
        }
        timerClock = max(timerClock, limit)
    }

    /// Calls `body(rule, touch, due, anchor)` for every touch this customer has pending by its
    /// current facts, in (rule_id, touch) order; rule -1 is the internal warm-to-cold transition.
    func forEachCandidate(_ c: Int, _ body: (Int, Int, Millis, Millis) -> Void) {
        // Only the value fields it reads: copying the whole customer would retain every array.
        let f = customers[c].facts
        let cold = customers[c].cold, lastSignal = customers[c].lastSignal
        let firstSeen = customers[c].firstSeen, lastView = customers[c].lastView
        let hasPurchase = f.completedOrders > 0
        let last = f.lastPurchaseAt
        if tracksEngagement, !cold, let ls = lastSignal { body(-1, 1, ls.adding(rules.coldAfterMs), .min) }
        for (i, r) in rules.rules.enumerated() {
            switch r.kind {
            case .rf(let rf) where hasPurchase:
                for k in 1...rf.touchCount { body(i, k, rf.due(touch: k, last: last), last) }
            case .reanimation(let chain) where hasPurchase:
                for k in 1...chain.touches.count { body(i, k, chain.due(touch: k, last: last), last) }
            case .rhythm(let rhythm) where hasPurchase:
                body(i, 1, rhythm.due(facts: f, shop: rules.shop), last)
            case .fall(let fall) where hasPurchase:
                body(i, 1, fall.due(facts: f, shop: rules.shop), last)
            case .prospect(let p):
                if let seen = firstSeen { body(i, 1, seen.adding(p.afterMs), .min) }
            case .cooled:
                if !cold, let ls = lastSignal { body(i, 1, ls.adding(rules.coldAfterMs), .min) }
            case .abandonedView(let a):
                if let lv = lastView { body(i, 1, lv.adding(a.delayMs), .min) }
            default: break
            }
        }
    }

    mutating func reschedule(_ c: Int) {
        var next: Millis?
        let clock = timerClock
        let fired = customers[c].fired
        forEachCandidate(c) { rule, touch, due, anchor in
            // A touch due past the representable range never fires.
            guard due > clock, due != .never else { return }
            if anchor != .min && fired.contains(.init(rule: Int32(rule), anchor: anchor, touch: Int32(touch))) { return }
            if next == nil || due < next! { next = due }
        }
        guard next != customers[c].scheduled else { return }
        customers[c].scheduled = next
        timers.schedule(customer: Int32(c), customerId: customers[c].id, due: next)
    }

    mutating func fireDue(_ c: Int, at w: Millis, into out: inout [Output]) {
        var due: [(rule: Int, touch: Int, anchor: Millis)] = []
        forEachCandidate(c) { rule, touch, d, anchor in if d == w { due.append((rule, touch, anchor)) } }
        if let ls = customers[c].lastSignal, !customers[c].cold, ls.adding(rules.coldAfterMs) <= w {
            customers[c].cold = true
        }
        let f = customers[c].facts
        for (ri, touch, anchor) in due where ri >= 0 {
            let rule = rules.rules[ri]
            if anchor != .min {
                let id = CustomerState.FiredTouch(rule: Int32(ri), anchor: anchor, touch: Int32(touch))
                if customers[c].hasFired(id) { continue }
                let applies: Bool
                switch rule.kind {
                case .rf(let r): applies = r.applies(to: f)
                case .reanimation(let r): applies = r.applies(to: f)
                case .rhythm(let r): applies = r.applies(to: f)
                case .fall(let r): applies = r.applies(to: f)
                default: applies = false
                }
                guard applies else { continue }
                customers[c].fired.append(id)
                var offer: Offer?
                if case .reanimation(let chain) = rule.kind, let points = chain.touches[touch - 1].bonusPoints {
                    offer = Offer(
                        bonusPoints: chain.giftPoints(configured: points, facts: f),
                        validUntil: w.adding(chain.touches[touch - 1].validMs ?? 0))
                }
                emit(c, rule: Int32(ri), touch: Int32(touch), at: w, offer: offer, products: nil,
                     recommendations: nil, into: &out)
                continue
            }
            switch rule.kind {
            case .prospect:
                if f.completedOrders == 0 {
                    emit(c, rule: Int32(ri), touch: 1, at: w, offer: nil, products: nil, recommendations: nil, into: &out)
                }
            case .cooled:
                emit(c, rule: Int32(ri), touch: 1, at: w, offer: nil, products: nil, recommendations: nil, into: &out)
            case .abandonedView(let a):
                fireAbandonedView(c, rule: ri, a, at: w, into: &out)
            default: break
            }
        }
    }

    /// `view.abandoned` (spec 3.6 and 3.8 item 7).
    mutating func fireAbandonedView(_ c: Int, rule ri: Int, _ a: AbandonedViewRule, at w: Millis, into out: inout [Output]) {
        let from = w.subtracting(a.windowMs)
        // The three arrays it reads, not a copy of the whole customer.
        let mentions = customers[c].orderMentions, views = customers[c].views, offered = customers[c].offered
        var ordered: [Int32] = []
        for m in mentions where m.at > from && m.at <= w { ordered += m.products }
        let carried = views
            .filter { v in
                v.at > from && v.at <= w && !ordered.contains(v.product)
                    && !offered.contains { $0.rule == Int32(ri) && $0.product == v.product && w < $0.at.adding(a.reofferMs) }
            }
            .sorted { $0.at != $1.at ? $0.at > $1.at : $0.seq > $1.seq }
            .prefix(a.maxProducts)
        guard !carried.isEmpty else { return }
        let seeds = carried.map(\.product)
        for p in seeds { customers[c].offered.append(.init(rule: Int32(ri), product: p, at: w)) }
        let recs = model.recommend(
            seeds: seeds, excluded: knownProducts(c), limit: a.maxRecommendations, names: productNames)
        emit(c, rule: Int32(ri), touch: 1, at: w, offer: nil,
             products: carried.map { CarriedProduct(productId: productNames[Int($0.product)], viewedAt: $0.at) },
             recommendations: recs, into: &out)
    }

    // MARK: - Output

    func snapshot(_ c: Int, at t: Millis) -> CustomerSnapshot {
        let f = customers[c].facts, lastSignal = customers[c].lastSignal
        return CustomerSnapshot(
            completedOrders: f.completedOrders,
            lastPurchaseAt: f.completedOrders > 0 ? f.lastPurchaseAt : nil,
            totalSpent: f.totalSpent,
            stage: f.stage(at: t, atRiskFactor: rules.atRiskFactor, lapsedFactor: rules.lapsedFactor, rules.shop),
            cold: lastSignal.map { t >= $0.adding(rules.coldAfterMs) } ?? false,
            vip: f.vipCard || f.vipEntered)
    }

    mutating func emit(
        _ c: Int, rule ri: Int32, touch: Int32, at t: Millis, offer: Offer?, products: [CarriedProduct]?,
        recommendations: [String]?, into out: inout [Output]
    ) {
        let rule = rules.rules[Int(ri)]
        let customerId = customers[c].id
        let id = Trigger.id(ruleId: rule.id, customerId: customerId, firedAt: t, touch: Int(touch))
        let window = rule.windowDays(touch: Int(touch))
        customers[c].openTouches.append(
            .init(rule: ri, touch: touch, firedAt: t, windowEnd: t.adding(Millis(window) * millisPerDay)))
        stats.triggers += 1
        out.append(
            .trigger(
                Trigger(
                    triggerId: id, ruleId: rule.id, touch: Int(touch), customerId: customerId, firedAt: t,
                    channel: rule.channel(touch: Int(touch)), customer: snapshot(c, at: t), offer: offer,
                    products: products, recommendations: recommendations, conversionWindowDays: window,
                    rulesVersion: rules.hash)))
    }
}

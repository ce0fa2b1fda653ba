/// Counters a task keeps about what it was given.
public struct TaskStats: Sendable, Equatable {
    public var eventsApplied = 0
    /// Events older than the watermark on arrival: applied to facts, fired nothing.
    public var lateEvents = 0
    /// Order events that repeated an applied event id or the order's current status.
    public var ignoredOrderEvents = 0
    public var triggers = 0
    public var conversions = 0
    /// Touches decided but withheld (spec 7.1); not in `triggers`.
    public var withheld = 0
}

/// One task of spec section 4: the pure fold of the events of its customers.
///
/// Like Flink's `KeyedProcessFunction` it has two entry points: `apply` for an event and
/// `advance` for event time. Nothing here reads a clock or does I/O: the same calls give the
/// same outputs, which is what makes a replay equal a live run and recovery a re-fold.
///
/// The task keeps what every family reads (`TaskCore`: orders, purchases, facts, recent views,
/// the touch ledger, the co-occurrence model) and the timers; each rule family (`Families/`) keeps
/// its own state and decides what it fires.
public struct CampaignTask: Sendable {
    public let rules: RuleSet
    public let allowedLatenessMs: Millis
    public internal(set) var stats = TaskStats()
    /// What a restore could not take from its snapshot as it was (a family the snapshot's release
    /// did not have starts from the customers' facts; a section of a family this release does not
    /// have is dropped): for the runtime to log.
    public internal(set) var restoreNotes: [String] = []
    var core: TaskCore
    var families: Families
    var timers = TimerQueue()
    /// Each customer's first touch of each rule and its outcome, while the rule set has experiments.
    var experiments: ExperimentLedger?
    /// Each customer's recently sent touches, while the rule set has a policy.
    var pressure: PressureLedger?
    /// Each customer's consent per channel, from consent events.
    var consents = ConsentLedger()
    /// While on, each output appended is journalled in `origins`, in the same order: the
    /// customer's number in this task and the rule's index, which the caller would otherwise find
    /// again by hashing the output's ids (the back-test's counting did, two String hashes per
    /// output). Not state: no snapshot holds it, and it changes nothing the fold does.
    public var journalsOrigins = false
    /// Where the outputs appended since `takeOrigins` came from (while `journalsOrigins`).
    public private(set) var origins: [OutputOrigin] = []

    /// Who an output is for: the customer's number in the task (numbers are never reused, an
    /// erased customer's included) and the rule's index in `rules.rules`.
    public struct OutputOrigin: Sendable, Equatable {
        public var customer: Int32
        public var rule: Int32
    }

    /// Moves the origins of the `count` outputs appended since the last call into `taken`, whose
    /// storage, emptied, the journal takes in exchange: nothing is copied or allocated.
    public mutating func takeOrigins(count: Int, into taken: inout [OutputOrigin]) {
        precondition(origins.count == count, "a task journals one origin per output")
        taken.removeAll(keepingCapacity: true)
        swap(&origins, &taken)
    }

    public init(rules: RuleSet, allowedLatenessMs: Millis = 0) {
        self.rules = rules
        self.allowedLatenessMs = allowedLatenessMs
        families = rules.families
        var configure = Configure()
        families.readAll(&configure, ())
        core = TaskCore(rules: rules, settings: configure.settings)
        if rules.experiments != nil { experiments = ExperimentLedger(rules: rules.rules.count) }
        if rules.policy != nil { pressure = PressureLedger() }
    }

    /// Lift counts by rule index (spec 7.2): empty without an `experiments` section.
    public var lift: [LiftCounts] { experiments?.counts ?? [] }

    /// The largest `occurred_at` applied minus the allowed lateness (or what `advance` set).
    public var watermark: Millis { core.watermark }
    public var customerCount: Int { core.customers.count }
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
        let known = core.customers.find(event.customerId)
        if let known { select(known) }
        // The event's order, as the refusal check found it, for the fold (decoded once).
        var order: OrderLookup?
        if let refusal = Self.refusal(of: event, customer: known, core, order: &order) { return refusal }
        let t = event.occurredAt
        let late = core.watermark != .min && t < core.watermark
        if !late { fireTimers(upTo: t.subtracting(allowedLatenessMs).subtracting(1), into: &out) }
        if case .erasure = event.body {
            // Spec 7.3: everything of theirs goes; an unknown customer has nothing to go.
            if let known { erase(known) }
            stats.eventsApplied += 1
            if late { stats.lateEvents += 1 } else { core.watermark = max(core.watermark, t.subtracting(allowedLatenessMs)) }
            return nil
        }
        let c = known ?? intern(customer: event.customerId)
        select(c)
        var fired: [EventFiring] = []
        // An order event that changes nothing (spec 3.8 item 2) reaches no family.
        if let applied = applyFacts(event, c, late: late, order: order, out: &out) {
            var hook = OnEvent(event: applied, customer: c)
            families.visitAll(&hook, &core)
            fired = hook.fired
            prune(c)
        }
        stats.eventsApplied += 1
        if late {
            stats.lateEvents += 1
        } else {
            if let policy = rules.policy {
                fired.sort { policy.before($0.rule, $0.touch, $1.rule, $1.touch) }
            } else {
                fired.sort { $0.rule != $1.rule ? $0.rule < $1.rule : $0.touch < $1.touch }
            }
            for f in fired { emit(c, rule: f.rule, touch: f.touch, at: t, f.firing, into: &out) }
            core.watermark = max(core.watermark, t.subtracting(allowedLatenessMs))
        }
        reschedule(c)
        return nil
    }

    /// Why `event` cannot be applied, if it cannot: spec outputs carry `total_spent` as a JSON
    /// number, so an order whose completion (or removal, which re-sums the rest) would make the
    /// sum infinite or NaN is a bad input. Changes nothing.
    /// `c` is the customer's index, nil for a customer not seen yet. `order`: set to the event's
    /// order as the customer holds it, for an order event of a known customer.
    static func refusal(of event: Event, customer c: Int?, _ core: TaskCore, order: inout OrderLookup?) -> InputError? {
        guard case .order(let o) = event.body else { return nil }
        // Read in place: copying the customer would retain every one of its arrays.
        let k = c.flatMap { core.customers[current: $0].orderIndex(o.orderId) }
        var wasCompleted = false
        if let c, let k {
            let record = core.customers[current: c].orders[k]
            order = OrderLookup(index: k, record: record)
            if record.ignores(eventId: event.eventId, status: o.status) { return nil }
            wasCompleted = record.status == .completed
        }
        let sum: Double
        if o.status == .completed {
            sum = (c.map { core.customers[current: $0].facts.totalSpent } ?? 0) + o.total
        } else if let c, wasCompleted {
            sum = core.customers[current: c].purchases.reduce(0.0) { $1.orderId == o.orderId ? $0 : $0 + $1.total }
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
        core.watermark = max(core.watermark, t)
    }

    // MARK: - Facts

    /// Makes customer `c` the one whose state the core and the families hold decoded.
    mutating func select(_ c: Int) {
        core.customers.checkout(c)
        var hook = Select(customer: c)
        families.visitAll(&hook, &core)
    }

    /// Forgets customer `c` (spec 7.3): its pending timer (first: timers order by the id), each
    /// family's state, its experiment, cap and consent entries, then its facts and its id.
    mutating func erase(_ c: Int) {
        timers.schedule(customer: Int32(c), due: nil, ids: core.customers)
        var hook = Erase(customer: c)
        families.visitAll(&hook, &core)
        experiments?.erase(c)
        pressure?.erase(c)
        consents.erase(c)
        core.customers.erase(c)
    }

    mutating func intern(customer id: String) -> Int {
        if let c = core.customers.find(id) { return c }
        let c = core.customers.add(CustomerState(id: id))
        var add = AddCustomer()
        families.visitAll(&add, &core)
        return c
    }

    /// Applies the event to the customer's facts (spec 3.8): orders, purchases, conversions,
    /// signals and views. Nil for an order event that changes nothing (item 2).
    /// `found`: the event's order as `refusal` found it (nil: the customer has no such order).
    mutating func applyFacts(_ e: Event, _ c: Int, late: Bool, order found: OrderLookup?, out: inout [Output]) -> AppliedEvent? {
        let t = e.occurredAt
        switch e.body {
        case .order(let o):
            let at = found?.index
            var order = found?.record ?? CustomerState.OrderRecord(orderId: o.orderId)
            if order.ignores(eventId: e.eventId, status: o.status) {
                stats.ignoredOrderEvents += 1
                return nil
            }
            signal(c, at: t)
            order.eventIds.append(e.eventId)
            let previous = order.status
            order.status = o.status
            if !o.items.isEmpty {
                var products: [Int32] = []
                for item in o.items {
                    let p = core.intern(product: item.productId)
                    if !products.contains(p) { products.append(p) }
                }
                order.products = products
            }
            if o.loyaltyTier == "vip" { core.customers[current: c].facts.vipCard = true }
            if o.status == .completed {
                if !order.everCompleted { experiments?.purchased(c, at: t, revenue: o.total) }
                order.everCompleted = true
                core.customers[current: c].purchases.append(.init(orderId: o.orderId, at: t, total: o.total))
                core.customers[current: c].recomputeFacts()
                if !order.converted, let conversion = Self.attribute(rules, core, c, orderId: o.orderId, at: t, revenue: o.total) {
                    order.converted = true
                    out.append(.conversion(conversion.conversion))
                    if journalsOrigins { origins.append(.init(customer: Int32(c), rule: conversion.rule)) }
                    stats.conversions += 1
                }
                if !order.creditedToModel && !order.products.isEmpty {
                    core.model.addBasket(order.products, names: core.productNames)
                    order.creditedToModel = true
                }
            } else if previous == .completed {
                core.customers[current: c].purchases.removeAll { $0.orderId == o.orderId }
                core.customers[current: c].recomputeFacts()
            }
            core.customers[current: c].store(order, at: at)
            return .order(completed: o.status == .completed, products: order.products, at: t, late: late)
        case .productView(let v):
            signal(c, at: t)
            let p = core.intern(product: v.productId)
            recordView(c, product: p, at: t)
            return .view(product: p, at: t, late: late)
        case .email:
            signal(c, at: t)
            return .email(at: t, late: late)
        case .consent(let consent):
            // Not an engagement signal (spec 7.3): no family sees it.
            consents.record(c, consent, at: t)
            return nil
        case .erasure:
            return nil  // applied before the facts (`apply`)
        }
    }

    /// Any signal (spec 3.5) makes the customer seen.
    mutating func signal(_ c: Int, at t: Millis) {
        core.customers[current: c].firstSeen = min(core.customers[current: c].firstSeen ?? t, t)
        core.customers[current: c].lastSignal = max(core.customers[current: c].lastSignal ?? t, t)
    }

    /// Keeps the product's latest view and counts co-views for the model (spec 3.6).
    mutating func recordView(_ c: Int, product p: Int32, at t: Millis) {
        core.viewSequence += 1
        let window = core.settings.coviewWindowMs
        let existing = core.customers[current: c].views.firstIndex { $0.product == p }
        // A view starts a new co-view episode unless the product was viewed within the window.
        let isNew = existing.map { abs(core.customers[current: c].views[$0].at - t) >= window } ?? true
        if isNew {
            core.model.addOccurrence(p)
            for v in core.customers[current: c].views where v.product != p && abs(v.at - t) < window {
                core.model.addPair(p, v.product, names: core.productNames)
            }
        }
        if let k = existing {
            // A re-delivered view (same product, same instant) changes nothing.
            if t > core.customers[current: c].views[k].at {
                core.customers[current: c].views[k].at = t
                core.customers[current: c].views[k].seq = core.viewSequence
            }
        } else {
            core.customers[current: c].views.append(.init(product: p, at: t, seq: core.viewSequence))
        }
        if !core.customers[current: c].viewedEver.contains(p) { core.customers[current: c].viewedEver.append(p) }
    }

    mutating func prune(_ c: Int) {
        guard core.watermark != .min else { return }
        let horizon = core.watermark.subtracting(core.settings.viewRetentionMs)
        core.customers[current: c].views.removeAll { $0.at <= horizon }
        core.customers[current: c].openTouches.removeAll { $0.windowEnd < core.watermark }
        var hook = Prune(customer: c)
        families.visitAll(&hook, &core)
    }

    /// Last-touch attribution (spec section 2): the latest touch with `fired_at < t <= fired_at + window`.
    static func attribute(
        _ rules: RuleSet, _ core: TaskCore, _ c: Int, orderId: String, at t: Millis, revenue: Double
    ) -> (conversion: Conversion, rule: Int32)? {
        guard let touch = core.customers[current: c].openTouches.last(where: { $0.firedAt < t && t <= $0.windowEnd }) else { return nil }
        let ruleId = rules.rules[Int(touch.rule)].id
        let customerId = core.customers.id(c)
        let conversion = Conversion(
            triggerId: Trigger.id(ruleId: ruleId, customerId: customerId, firedAt: touch.firedAt, touch: Int(touch.touch)),
            ruleId: ruleId, touch: Int(touch.touch),
            customerId: customerId, orderId: orderId, convertedAt: t, revenue: revenue,
            hoursAfterTrigger: Double(t - touch.firedAt) / Double(millisPerHour))
        return (conversion, touch.rule)
    }

    // MARK: - Timers

    mutating func fireTimers(upTo limit: Millis, into out: inout [Output]) {
        while let entry = timers.popDue(upTo: limit, ids: core.customers) {
            let c = Int(entry.customer)
            select(c)
            core.timerClock = max(core.timerClock, entry.due)
            fireDue(c, at: entry.due, into: &out)
            reschedule(c)
        }
        core.timerClock = max(core.timerClock, limit)
    }

    /// Collects every wake-up customer `c` has pending into `sink`, family by family. Static, over
    /// the two parts it reads: a method reading `self` made the mutating callers copy the task.
    static func wakeUps<S: WakeSink>(_ families: Families, _ core: TaskCore, _ c: Int, into sink: S) -> S {
        var list = Candidates(customer: c, sink: sink)
        families.readAll(&list, core)
        return list.sink
    }

    /// Runs `reader` over the families with the core borrowed from this mutating call: passing the
    /// stored `core` by value from a mutating method copied it (a retain of every array it holds).
    @inline(__always)
    mutating func readFamilies<R: FamilyReader>(_ reader: inout R) where R.Context == TaskCore {
        var visitor = Reading(reader: reader)
        families.visitAll(&visitor, &core)
        reader = visitor.reader
    }

    /// The same for family `i` alone.
    @inline(__always)
    mutating func readFamily<R: FamilyReader>(_ i: Int, _ reader: inout R) where R.Context == TaskCore {
        var visitor = Reading(reader: reader)
        families.visit(i, &visitor, &core)
        reader = visitor.reader
    }

    mutating func reschedule(_ c: Int) {
        var list = Candidates(customer: c, sink: NextWakeUp(after: core.timerClock, ledger: core.customers[current: c].fired))
        readFamilies(&list)
        let next = list.sink.next
        guard next != timers.due(c) else { return }
        timers.schedule(customer: Int32(c), due: next, ids: core.customers)
    }

    /// Fires customer `c`'s touches due at `w`, in (rule_id, touch) order; a touch anchored on
    /// `L` fires at most once (spec 3.8 item 4), and only if its condition holds now.
    mutating func fireDue(_ c: Int, at w: Millis, into out: inout [Output]) {
        var list = Candidates(customer: c, sink: DueAt(instant: w))
        readFamilies(&list)
        var due = list.sink.due
        var wake = Wake(customer: c, at: w)
        families.visitAll(&wake, &core)
        // Spec 3.8's (rule_id, touch) order; under a policy, priority first (spec 7.3).
        if let policy = rules.policy {
            due.sort { policy.before($0.rule, $0.touch, $1.rule, $1.touch) }
        } else {
            due.sort { $0.rule != $1.rule ? $0.rule < $1.rule : $0.touch < $1.touch }
        }
        for (rule, touch, anchor) in due {
            let owner = rules.owners[Int(rule)]
            var check = Holds(local: owner.local, touch: touch, customer: c)
            readFamily(owner.family, &check)
            guard check.holds else { continue }
            if anchor != .min {
                let id = CustomerState.FiredTouch(rule: rule, anchor: anchor, touch: touch)
                if core.customers[current: c].hasFired(id) { continue }
                core.customers[current: c].fired.append(id)
            }
            var fire = Fire(local: owner.local, touch: touch, customer: c, at: w)
            families.visit(owner.family, &fire, &core)
            if let firing = fire.firing { emit(c, rule: rule, touch: touch, at: w, firing, into: &out) }
        }
    }

    // MARK: - Output

    /// The trigger's `customer` block at `t` (with `view`, the customer view's fields too).
    static func customerBlock(_ families: Families, _ core: TaskCore, _ c: Int, at t: Millis, view: Bool = false) -> CustomerSnapshot {
        var fields = CustomerFields(customer: c, at: t, view: view)
        families.readAll(&fields, core)
        return customerBlock(core.customers[c].facts, fields.fields)
    }

    static func customerBlock(_ f: CustomerFacts, _ fields: [CustomerField]) -> CustomerSnapshot {
        CustomerSnapshot(
            completedOrders: f.completedOrders, lastPurchaseAt: f.completedOrders > 0 ? f.lastPurchaseAt : nil,
            totalSpent: f.totalSpent, fields: fields)
    }

    /// Why this touch is withheld (spec 7.1), if it is: the global control group, then the rule's
    /// holdout, then the caps; a touch sent counts for the caps.
    mutating func withholding(_ c: Int, rule ri: Int32, _ ruleId: String, _ customerId: String, channel: String, at t: Millis) -> WithheldReason? {
        if let reason = rules.experiments?.withholding(rule: Int(ri), ruleId: ruleId, customerId) { return reason }
        if !consents.allows(c, channel: channel, optInRequired: rules.policy?.requireOptIn ?? false) { return .noConsent }
        guard let policy = rules.policy, !policy.exempt[Int(ri)] else { return nil }
        if pressure!.exceedsCap(c, channel: channel, at: t, policy) { return .cap }
        pressure!.recordSent(c, channel: channel, at: t)
        return nil
    }

    /// `customerBlock` from the fold (the core borrowed, not copied).
    mutating func customerBlock(_ c: Int, at t: Millis) -> CustomerSnapshot {
        var fields = CustomerFields(customer: c, at: t, view: false)
        readFamilies(&fields)
        return Self.customerBlock(core.customers[current: c].facts, fields.fields)
    }

    mutating func emit(_ c: Int, rule ri: Int32, touch: Int32, at t: Millis, _ firing: Firing, into out: inout [Output]) {
        let rule = rules.rules[Int(ri)]
        let customerId = core.customers.id(c)
        let window = rule.windowDays(touch: Int(touch))
        let windowEnd = t.adding(Millis(window) * millisPerDay)
        let withheld = withholding(c, rule: ri, rule.id, customerId, channel: rule.channel(touch: Int(touch)), at: t)
        if let withheld {
            stats.withheld += 1
            let group: ExperimentLedger.Group = withheld == .holdout ? .control : .other
            experiments?.touched(c, rule: ri, group: group, at: t, windowEnd: windowEnd)
        } else {
            // Only a sent touch can be credited with a purchase (spec 7.1).
            core.customers[current: c].openTouches.append(.init(rule: ri, touch: touch, firedAt: t, windowEnd: windowEnd))
            stats.triggers += 1
            experiments?.touched(c, rule: ri, group: .treated, at: t, windowEnd: windowEnd)
        }
        let trigger = Trigger(
            ruleId: rule.id, touch: Int(touch), customerId: customerId, firedAt: t,
            channel: rule.channel(touch: Int(touch)), customer: customerBlock(c, at: t), offer: firing.offer,
            products: firing.products, recommendations: firing.recommendations, conversionWindowDays: window,
            rulesVersion: rules.hash, withheld: withheld)
        out.append(withheld == nil ? .trigger(trigger) : .withheld(trigger))
        if journalsOrigins { origins.append(.init(customer: Int32(c), rule: ri)) }
    }
}

/// An order event's order as its customer held it before the event: where it is in the
/// customer's orders and the record there.
struct OrderLookup {
    let index: Int
    let record: CustomerState.OrderRecord
}

// MARK: - The task's calls into the families

private struct Configure: FamilyReader {
    var settings = CoreSettings()
    mutating func read<F: RuleFamily>(_ family: F, _ context: Void) { family.configure(&settings) }
}

private struct AddCustomer: FamilyVisitor {
    mutating func visit<F: RuleFamily>(_ family: inout F, _ core: inout TaskCore) { family.addCustomer() }
}

private struct OnEvent: FamilyVisitor {
    let event: AppliedEvent
    let customer: Int
    var fired: [EventFiring] = []
    mutating func visit<F: RuleFamily>(_ family: inout F, _ core: inout TaskCore) {
        family.onEvent(event, customer, &core, fired: &fired)
    }
}

private struct Erase: FamilyVisitor {
    let customer: Int
    mutating func visit<F: RuleFamily>(_ family: inout F, _ core: inout TaskCore) { family.erase(customer) }
}

private struct Select: FamilyVisitor {
    let customer: Int
    mutating func visit<F: RuleFamily>(_ family: inout F, _ core: inout TaskCore) { family.select(customer) }
}

private struct Prune: FamilyVisitor {
    let customer: Int
    mutating func visit<F: RuleFamily>(_ family: inout F, _ core: inout TaskCore) { family.prune(customer, core) }
}

private struct Wake: FamilyVisitor {
    let customer: Int
    let at: Millis
    mutating func visit<F: RuleFamily>(_ family: inout F, _ core: inout TaskCore) { family.wake(customer, at: at, core) }
}

/// A reader run as a visitor, so that it borrows the core from the visit's `inout`.
private struct Reading<R: FamilyReader>: FamilyVisitor where R.Context == TaskCore {
    var reader: R
    @inline(__always)
    mutating func visit<F: RuleFamily>(_ family: inout F, _ core: inout TaskCore) { reader.read(family, core) }
}

private struct Candidates<Sink: WakeSink>: FamilyReader {
    let customer: Int
    var sink: Sink
    mutating func read<F: RuleFamily>(_ family: F, _ core: TaskCore) { family.candidates(customer, core, &sink) }
}

/// The earliest wake-up after `after` that is not a touch already fired (and, `collecting`, every
/// such touch, as the customer view lists them).
struct NextWakeUp: WakeSink {
    let after: Millis
    let ledger: [CustomerState.FiredTouch]
    let collecting: Bool
    var next: Millis?
    var pending: [(rule: Int32, touch: Int32, due: Millis)] = []
    init(after: Millis, ledger: [CustomerState.FiredTouch], collecting: Bool = false) {
        self.after = after
        self.ledger = ledger
        self.collecting = collecting
    }
    mutating func add(_ rule: Int32, _ touch: Int32, _ due: Millis, _ anchor: Millis) {
        // A touch due past the representable range never fires.
        guard due > after, due != .never else { return }
        // A touch due no earlier than the next wake-up found changes nothing unless collecting:
        // the ledger (never pruned, scanned linearly) is read only for one that could.
        if !collecting, let next, due >= next { return }
        if anchor != .min && ledger.contains(.init(rule: rule, anchor: anchor, touch: touch)) { return }
        if next == nil || due < next! { next = due }
        if collecting && rule >= 0 { pending.append((rule, touch, due)) }
    }
}

/// The touches due exactly at `instant`.
private struct DueAt: WakeSink {
    let instant: Millis
    var due: [(rule: Int32, touch: Int32, anchor: Millis)] = []
    mutating func add(_ rule: Int32, _ touch: Int32, _ due: Millis, _ anchor: Millis) {
        if due == instant && rule >= 0 { self.due.append((rule, touch, anchor)) }
    }
}

struct Holds: FamilyReader {
    let local: Int
    let touch: Int32
    let customer: Int
    var holds = false
    mutating func read<F: RuleFamily>(_ family: F, _ core: TaskCore) {
        holds = family.holds(local, touch: touch, customer, core)
    }
}

private struct Fire: FamilyVisitor {
    let local: Int
    let touch: Int32
    let customer: Int
    let at: Millis
    var firing: Firing?
    mutating func visit<F: RuleFamily>(_ family: inout F, _ core: inout TaskCore) {
        firing = family.fire(local, touch: touch, customer, at: at, &core)
    }
}

private struct CustomerFields: FamilyReader {
    let customer: Int
    let at: Millis
    let view: Bool
    var fields: [CustomerField] = []
    mutating func read<F: RuleFamily>(_ family: F, _ core: TaskCore) {
        family.customerFields(customer, core, at: at, view: view, into: &fields)
    }
}

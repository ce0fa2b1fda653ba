import RekindleCore
/// One customer's life in the shop: their persona's sessions, orders and email habits, drawn
/// from a random stream of their own so that it depends only on the seed and their number.
struct CustomerScript {
    enum Basket { case usual, premium }

    enum Outcome {
        /// Mostly completed; some cancelled, some returned.
        case usual
        /// Completed within two days, never cancelled or returned.
        case assured
        /// Created, then cancelled: an abandoned checkout.
        case abandoned
    }

    static let minute: Int64 = 60_000
    static let hour: Int64 = 3_600_000
    static let day: Int64 = 86_400_000

    let number: UInt32
    let persona: CustomerPersona
    let catalog: ProductCatalog
    let schedule: EmailSchedule
    let start: Int64
    let end: Int64
    private var rng: SplitMix64
    private let favourite: Int
    private let secondChoice: Int
    private let vipCard: Bool
    private let subscribed: Bool
    private var firstSeen: Int64
    /// Share of a browser's sessions after which it comes back within the week to buy.
    var returningShare = 0.0

    init(
        number: Int, seed: UInt64, catalog: ProductCatalog, schedule: EmailSchedule,
        start: Int64, end: Int64
    ) {
        var rng = SplitMix64(seed: seed, stream: 0xC057_0BE5, index: UInt64(number))
        self.number = UInt32(truncatingIfNeeded: number)
        persona = CustomerPersona.of(customer: number, &rng)
        self.catalog = catalog
        self.schedule = schedule
        self.start = start
        self.end = end
        favourite = rng.below(catalog.categoryCount)
        secondChoice =
            rng.chance(0.5)
            ? catalog.complement(of: favourite) : rng.below(catalog.categoryCount)
        vipCard = rng.chance(persona.vipCardShare)
        subscribed = rng.chance(persona.subscriberShare)
        firstSeen = start
        self.rng = rng
    }

    private var span: Int64 { end - start }

    mutating func run(into sink: inout EventSink) {
        switch persona {
        case .browser: browse(&sink)
        case .subscriber: firstSeen = rng.chance(0.5) ? start : rng.millis(start, start + span / 2)
        case .oneTimeBuyer: buyOnce(&sink)
        case .repeatBuyer: buyOnRhythm(&sink)
        case .lapsingBuyer: buyThenLapse(&sink)
        case .burstyBuyer: buyInBurst(&sink)
        case .highSpender: spendBig(&sink)
        }
        if subscribed { readEmails(&sink) }
    }

    // MARK: Personas

    private mutating func browse(_ sink: inout EventSink) {
        var t = arrive(within: span - Self.hour)
        let sessions = rng.weighted([70, 20, 7, 3]) + 1
        for k in 0..<sessions {
            let category = sessionCategory()
            let visit = session(at: t, category: category, views: viewCount(), &sink)
            let last = visit.last
            if k == 0 && rng.chance(0.05) {
                purchase(
                    at: last + rng.millis(2 * Self.minute, 40 * Self.minute), .usual, .abandoned,
                    viewed: visit.products, &sink)
            } else if returningShare > 0 && rng.chance(returningShare) {
                // Comes back within the week and buys in the category it browsed.
                purchase(
                    at: shoppingTime(last + rng.millis(2 * Self.hour, 6 * Self.day)), .usual, .usual,
                    in: category, &sink)
            }
            // Mostly days apart; sometimes over a month, so the browser goes cold and rewarms.
            t = shoppingTime(last + rng.skewedMillis(Self.day, 45 * Self.day))
        }
    }

    private mutating func buyOnce(_ sink: inout EventSink) {
        var t = arrive(within: span - 3 * Self.day)
        if rng.chance(0.4) {
            let last = session(at: t, category: sessionCategory(), views: viewCount(), &sink).last
            t = shoppingTime(last + rng.skewedMillis(Self.hour, 10 * Self.day))
        }
        purchase(at: t, .usual, .usual, &sink)
        if rng.chance(0.35) {
            session(
                at: shoppingTime(t + rng.millis(3 * Self.day, 60 * Self.day)),
                category: sessionCategory(), views: viewCount(), &sink)
        }
    }

    private mutating func buyOnRhythm(_ sink: inout EventSink) {
        var t = arrive(within: span * 6 / 10)
        let interval = rng.millis(10 * Self.day, 60 * Self.day)
        while t < end {
            purchase(at: t, .usual, .usual, &sink)
            let next = t + jitter(interval)
            if rng.chance(0.3) {
                session(
                    at: shoppingTime(rng.millis(t + 2 * Self.day, next - Self.day)),
                    category: sessionCategory(), views: viewCount(), &sink)
            }
            t = shoppingTime(next)
        }
    }

    private mutating func buyThenLapse(_ sink: inout EventSink) {
        // Some buy 3-4 times in their first week and vanish, long enough for rf.lost (113 days).
        let early = rng.chance(0.4)
        var t = arrive(within: early ? 2 * Self.day : min(20 * Self.day, span / 5))
        let interval =
            early ? rng.millis(Self.day, 5 * Self.day / 2) : rng.millis(4 * Self.day, 20 * Self.day)
        let purchases = early ? rng.int(3...4) : rng.weighted([25, 35, 25, 15]) + 2
        for k in 0..<purchases {
            purchase(at: t, .usual, early ? .assured : .usual, &sink)
            if k < purchases - 1 { t = shoppingTime(t + jitter(interval)) }
        }
        if rng.chance(0.4) {
            // Still looks around now and then, but does not buy.
            session(
                at: shoppingTime(t + rng.millis(20 * Self.day, 90 * Self.day)),
                category: sessionCategory(), views: viewCount(), &sink)
        }
    }

    private mutating func buyInBurst(_ sink: inout EventSink) {
        var t = arrive(within: span / 2)
        for _ in 0..<rng.int(0...2) {
            purchase(at: t, .usual, .usual, &sink)
            t = shoppingTime(t + rng.millis(10 * Self.day, 25 * Self.day))
        }
        // More than 5 completed purchases inside 30 days.
        for _ in 0..<rng.int(7...9) {
            purchase(at: t, .usual, .assured, &sink)
            t = shoppingTime(t + rng.millis(Self.day, 3 * Self.day))
        }
        if rng.chance(0.5) {
            t = shoppingTime(t + rng.millis(20 * Self.day, 40 * Self.day))
            while t < end {
                purchase(at: t, .usual, .usual, &sink)
                t = shoppingTime(t + rng.millis(20 * Self.day, 40 * Self.day))
            }
        }
    }

    private mutating func spendBig(_ sink: inout EventSink) {
        var t = arrive(within: span * 3 / 10)
        let interval = rng.millis(6 * Self.day, 16 * Self.day)
        while t < end {
            purchase(at: t, .premium, .usual, &sink)
            t = shoppingTime(t + jitter(interval))
        }
    }

    // MARK: Email

    /// Opens and clicks in engaged spells of 2-7 weeks, separated by quiet spells of more than
    /// 30 days, so that an email-only subscriber cools and rewarms.
    private mutating func readEmails(_ sink: inout EventSink) {
        let from = persona == .subscriber || rng.chance(0.4) ? firstSeen : start
        var engaged = rng.chance(0.6)
        var spellEnd = from + rng.millis(0, engaged ? 50 * Self.day : 75 * Self.day)
        let openRate = 0.2 + 0.4 * rng.unit()
        for send in schedule.sends where send.time >= from {
            while send.time >= spellEnd {
                engaged.toggle()
                spellEnd +=
                    engaged
                    ? rng.millis(14 * Self.day, 50 * Self.day)
                    : rng.millis(31 * Self.day, 75 * Self.day)
            }
            guard engaged else { continue }
            let message = sink.newMessage()
            var t = send.time + rng.skewedMillis(2 * Self.minute, 3 * Self.day)
            let opened = rng.chance(openRate)
            if opened {
                let open = SyntheticEvent(
                    kind: .emailOpen, customer: number, subject: message,
                    context: UInt32(send.campaign), occurredAt: t)
                sink.add(open, &rng)
                t += rng.skewedMillis(5000, 10 * Self.minute)
            }
            // Some clicks come without an open (images blocked).
            guard opened ? rng.chance(0.25) : rng.chance(0.02) else { continue }
            let product = catalog.pick(in: rng.chance(0.7) ? favourite : secondChoice, &rng)
            var click = SyntheticEvent(
                kind: .emailClick, customer: number, subject: message,
                context: UInt32(send.campaign), occurredAt: t)
            if rng.chance(0.8) { click.linkedProduct = product }
            sink.add(click, &rng)
            if click.linkedProduct != 0 && persona != .subscriber && rng.chance(0.3) {
                session(
                    at: t + rng.millis(20_000, 3 * Self.minute),
                    category: catalog.categoryOfProduct[Int(product) - 1],
                    views: viewCount(), first: product, &sink)
            }
        }
    }

    // MARK: Sessions and orders

    /// A browsing session: views a few seconds to minutes apart, mostly in one category.
    @discardableResult
    private mutating func session(
        at begin: Int64, category: Int, views: Int,
        first: UInt32? = nil, _ sink: inout EventSink
    )
        -> (products: [UInt32], last: Int64)
    {
        let session = sink.newSession()
        var t = begin
        var last = begin
        var products = [UInt32]()
        products.reserveCapacity(views)
        for k in 0..<views {
            if k > 0 { t += rng.skewedMillis(20_000, 6 * Self.minute) }
            let product: UInt32
            if k == 0, let first {
                product = first
            } else {
                product = catalog.pick(
                    in: rng.chance(0.85) ? category : catalog.complement(of: category), &rng)
            }
            let view = SyntheticEvent(
                kind: .productView, customer: number, subject: product, context: session,
                occurredAt: t)
            if let shown = sink.add(view, &rng) { last = max(last, shown) }
            products.append(product)
        }
        return (products, max(last, t))
    }

    /// A purchase: usually a session first, then an order of some of the viewed products
    /// (plus, sometimes, one from a complementary category) within the hour.
    private mutating func purchase(
        at begin: Int64, _ basket: Basket, _ outcome: Outcome,
        viewed alreadyViewed: [UInt32]? = nil, in preferred: Int? = nil, _ sink: inout EventSink
    ) {
        let category =
            basket == .premium && rng.chance(0.6)
            ? ProductCatalog.premiumCategories[rng.below(ProductCatalog.premiumCategories.count)]
                % catalog.categoryCount
            : preferred ?? sessionCategory()
        var viewed = alreadyViewed ?? []
        var t = begin
        if alreadyViewed == nil && rng.chance(0.85) {
            let visit = session(at: begin, category: category, views: rng.int(2...4), &sink)
            viewed = visit.products
            t = visit.last + rng.millis(3 * Self.minute, 45 * Self.minute)
        }
        let wanted = basket == .premium ? rng.int(2...4) : rng.weighted([60, 28, 12]) + 1
        var chosen = [UInt32]()
        while !viewed.isEmpty && chosen.count < wanted {
            let product = viewed.remove(at: rng.below(viewed.count))
            if !chosen.contains(product) { chosen.append(product) }
        }
        var attempts = 0
        while chosen.count < wanted && attempts < 8 {
            let product = catalog.pick(in: category, &rng)
            if !chosen.contains(product) { chosen.append(product) }
            attempts += 1
        }
        if rng.chance(0.2) {
            let extra = catalog.pick(in: catalog.complement(of: category), &rng)
            if !chosen.contains(extra) { chosen.append(extra) }
        }
        var items = [SyntheticOrderItem]()
        var total: Int64 = 0
        for product in chosen {
            let quantity = UInt32(
                basket == .premium ? rng.weighted([70, 30]) + 1 : rng.weighted([85, 12, 3]) + 1)
            items.append(SyntheticOrderItem(product: product, quantity: quantity))
            total += catalog.price(product) * Int64(quantity)
        }
        var event = SyntheticEvent(
            kind: .order, customer: number, subject: sink.newOrder(), occurredAt: t)
        event.vipTier = vipCard
        event.itemStart = sink.addItems(items)
        event.itemCount = UInt16(items.count)
        event.total = total
        placeOrder(event, outcome, &sink)
    }

    /// created -> paid -> completed, minutes to days apart; some cancelled before completion,
    /// some returned after. Every step is at least a minute after the last, so that dropping a
    /// timestamp's fraction never reorders an order's events.
    private mutating func placeOrder(
        _ created: SyntheticEvent, _ outcome: Outcome,
        _ sink: inout EventSink
    ) {
        var event = created
        var t = created.occurredAt
        func emit(_ status: SyntheticEvent.Status, _ sink: inout EventSink, _ rng: inout SplitMix64)
        {
            event.status = status.rawValue
            event.occurredAt = t
            sink.add(event, &rng)
        }
        emit(.created, &sink, &rng)
        if outcome == .abandoned || (outcome == .usual && rng.chance(0.04)) {
            t += rng.skewedMillis(10 * Self.minute, 2 * Self.day)
            emit(.cancelled, &sink, &rng)
            return
        }
        // Cash on delivery goes straight from created to completed.
        if outcome == .assured || rng.chance(0.92) {
            t += rng.skewedMillis(Self.minute, 30 * Self.minute)
            emit(.paid, &sink, &rng)
            if outcome == .usual && rng.chance(0.03) {
                t += rng.skewedMillis(Self.hour, 2 * Self.day)
                emit(.cancelled, &sink, &rng)
                return
            }
        }
        t +=
            outcome == .assured
            ? rng.millis(6 * Self.hour, 2 * Self.day) : rng.millis(Self.day, 5 * Self.day)
        emit(.completed, &sink, &rng)
        if outcome == .usual && rng.chance(0.05) {
            t += rng.millis(2 * Self.day, 14 * Self.day)
            emit(.returned, &sink, &rng)
        }
    }

    // MARK: Draws

    /// The customer's first visit, within `window` of the start, in shopping hours.
    private mutating func arrive(within window: Int64) -> Int64 {
        firstSeen = shoppingTime(rng.millis(start, start + max(0, window)))
        return firstSeen
    }

    /// A moment between 08:00 and 23:00 Moscow time on the Moscow day of `t`.
    private mutating func shoppingTime(_ t: Int64) -> Int64 {
        let local = t + TimestampStyle.moscowOffset
        let midnight =
            local - (local % Self.day + Self.day) % Self.day - TimestampStyle.moscowOffset
        let moment = midnight + 8 * Self.hour + rng.millis(0, 15 * Self.hour)
        return moment < start ? t : moment
    }

    /// `interval` stretched or shrunk by up to 30%.
    private mutating func jitter(_ interval: Int64) -> Int64 {
        Int64(Double(interval) * (0.7 + 0.6 * rng.unit()))
    }

    private mutating func sessionCategory() -> Int {
        switch rng.below(10) {
        case 0..<6: favourite
        case 6..<9: secondChoice
        default: rng.below(catalog.categoryCount)
        }
    }

    private mutating func viewCount() -> Int {
        rng.weighted([25, 30, 20, 12, 8, 5]) + 1
    }
}

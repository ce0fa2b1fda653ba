import RekindleCore
/// Collects the stream's events as customers are simulated, numbers them, and re-delivers a few.
/// Events outside `[start, end)` are dropped, so a history may run past the end of the window.
struct EventSink: Sendable {
    /// Position of an event in the output: by time, then by the order events were added.
    struct SortKey: Sendable {
        var time: Int64
        var index: UInt32
    }

    /// Share of events re-delivered later in the stream as an exact duplicate line.
    static let duplicateShare = 0.005

    let start: Int64
    let end: Int64
    private(set) var events: [SyntheticEvent] = []
    private(set) var keys: [SortKey] = []
    private(set) var items: [SyntheticOrderItem] = []
    private var lastEventNumber: UInt32 = 0
    private var lastOrder: UInt32 = 0
    private var lastSession: UInt32 = 0
    private var lastMessage: UInt32 = 0

    init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }

    func contains(_ time: Int64) -> Bool { time >= start && time < end }

    mutating func newOrder() -> UInt32 {
        lastOrder += 1
        return lastOrder
    }

    mutating func newSession() -> UInt32 {
        lastSession += 1
        return lastSession
    }

    mutating func newMessage() -> UInt32 {
        lastMessage += 1
        return lastMessage
    }

    /// Stores an order's items; returns where they start in the item table.
    mutating func addItems(_ orderItems: [SyntheticOrderItem]) -> UInt32 {
        let at = UInt32(items.count)
        items.append(contentsOf: orderItems)
        return at
    }

    /// Adds an event with a drawn timestamp form. Returns the time it was given
    /// (whole seconds for some forms), or nil when it falls outside the window.
    @discardableResult
    mutating func add(_ event: SyntheticEvent, _ rng: inout SplitMix64) -> Int64? {
        var event = event
        event.style = TimestampStyle.draw(&rng)
        if event.style.wholeSeconds { event.occurredAt -= event.occurredAt % 1000 }
        guard contains(event.occurredAt) else { return nil }
        lastEventNumber += 1
        event.eventNumber = lastEventNumber
        append(event, at: event.occurredAt)
        if rng.chance(Self.duplicateShare) {
            // At-least-once delivery: the same line again, seconds to an hour later.
            append(event, at: event.occurredAt + rng.skewedMillis(1000, 3_600_000))
        }
        return event.occurredAt
    }

    /// Adds a bad line, shown at `time`.
    mutating func addBad(_ kind: BadLineKind, customer: UInt32, at time: Int64, salt: UInt64) {
        lastEventNumber += 1
        var event = SyntheticEvent(kind: .bad, customer: customer, subject: 0, occurredAt: time)
        event.status = kind.rawValue
        event.eventNumber = lastEventNumber
        event.total = Int64(bitPattern: salt)
        append(event, at: time)
    }

    private mutating func append(_ event: SyntheticEvent, at time: Int64) {
        keys.append(SortKey(time: time, index: UInt32(events.count)))
        events.append(event)
    }

    var numberOfOrders: UInt32 { lastOrder }
    var numberOfSessions: UInt32 { lastSession }
    var numberOfMessages: UInt32 { lastMessage }

    /// The order lines are written in.
    mutating func sortKeys() {
        keys.sort { $0.time != $1.time ? $0.time < $1.time : $0.index < $1.index }
    }
}

/// A rule family (spec section 3): one file holds its parameters and their rule-file section, its
/// per-customer state, when it wants to wake, what it does on an event, what it fires, its snapshot
/// section and its part of the customer view. `CampaignTask` keeps what every family reads (the
/// customer's orders, purchases and facts, recent views, the touch ledger, the co-occurrence
/// model) and loops over the families of `Families`, with static dispatch.
///
/// Adding a family is a new file with a type conforming to this protocol, a line in `Families`,
/// and its tests.
protocol RuleFamily: Sendable {
    /// The rule kind's compiled parameters.
    associatedtype Rule: Sendable, Equatable

    /// The family's key under `families:` in a rule file, and the id of its snapshot section.
    static var name: String { get }
    /// The rule kinds it compiles; a family of one kind lets a rule leave `kind` out.
    static var kinds: [String] { get }
    /// Its family-wide parameters' ranges (beside `enabled` and `rules`).
    static var familyRanges: [String: ParamRange] { get }
    /// Each kind's own numeric parameters' ranges.
    static func kindRanges(_ kind: String) -> [String: ParamRange]
    /// Range-table rows of parameters nested below a rule (a chain's touches), by kind.
    static func nestedRanges(_ kind: String) -> [(String, ParamRange)]
    /// False when its rules set channel and conversion window per touch instead of per rule.
    static var rulesHaveChannel: Bool { get }
    /// The version of the snapshot section this build writes (`decode` reads every older one).
    static var sectionVersion: UInt64 { get }

    /// Reads the family-wide parameters (of a disabled family too: they are part of the rule set).
    init(_ p: inout RuleParams, shop: ShopParameters) throws(RuleError)
    /// Compiles one rule of `kind` and names its touches' channels and conversion windows
    /// (`common`: the rule's own, when `rulesHaveChannel`).
    func compile(kind: String, _ p: inout RuleParams, common: TouchSpec) throws(RuleError) -> (Rule, [TouchSpec])
    /// Its enabled rules and their index in the rule set (rule_id order).
    var rules: [Indexed<Rule>] { get set }
    /// False when its parameters leave its rules nothing to act on (the churn family without a
    /// model): they are checked, and compiled into no rule of the rule set.
    var active: Bool { get }

    // MARK: The fold

    /// What the shared core takes from this family's parameters (a window it keeps views for).
    func configure(_ settings: inout CoreSettings)
    /// A new customer: append its state.
    mutating func addCustomer()
    /// Customer `c` asked to be forgotten (spec 7.3): its state goes back to a new customer's.
    mutating func erase(_ c: Int)
    /// Customer `c` is the one the task works on next: a family whose per-customer state lives in
    /// a `RecordArena` checks it out here.
    mutating func select(_ c: Int)
    /// After an event has changed customer `c`'s facts (never for an ignored order event):
    /// what it fires at the event's own instant goes to `fired`.
    mutating func onEvent(_ e: AppliedEvent, _ c: Int, _ core: inout TaskCore, fired: inout [EventFiring])
    /// Every wake-up customer `c` has pending by its current state, as `body.add(rule, touch, due,
    /// anchor)`: `anchor` is `L` for touches identified by the last purchase (the task fires each
    /// at most once) and `Millis.min` otherwise; rule -1 is a change of the family's own state
    /// that fires nothing.
    func candidates<S: WakeSink>(_ c: Int, _ core: TaskCore, _ body: inout S)
    /// A wake-up of customer `c` at `w`, before the touches due then fire.
    mutating func wake(_ c: Int, at w: Millis, _ core: TaskCore)
    /// Whether rule `local`'s touch may fire for `c` now (checked again when it is due).
    func holds(_ local: Int, touch: Int32, _ c: Int, _ core: TaskCore) -> Bool
    /// Fires rule `local`'s due touch for `c` at `w` (its condition holds): what the trigger
    /// carries, or nil when there is nothing to send.
    mutating func fire(_ local: Int, touch: Int32, _ c: Int, at w: Millis, _ core: inout TaskCore) -> Firing?
    /// Forgets what no rule can read any more (the core's watermark has moved).
    mutating func prune(_ c: Int, _ core: TaskCore)
    /// Its fields of the trigger's `customer` block at `t` (and, with `view`, of the customer view).
    func customerFields(_ c: Int, _ core: TaskCore, at t: Millis, view: Bool, into fields: inout [CustomerField])

    // MARK: Snapshots

    /// The family's section: its per-customer state in customer order.
    func encodeSection(_ w: inout ByteWriter, _ core: TaskCore)
    /// Reads a section of `version` (at most `sectionVersion`), rules renumbered by `remap`.
    mutating func decodeSection(
        _ r: inout ByteReader, version: UInt64, _ core: TaskCore, remap: RuleRemap
    ) throws(SnapshotError)
    /// No section to read (a snapshot of a release without this family): state from the facts.
    mutating func startFromFacts(_ core: TaskCore)
    /// Takes its part of a format-1 snapshot (the positional format of releases before sections;
    /// its rules already renumbered).
    mutating func migrate(format1 customers: [Format1Customer], _ core: TaskCore)
}

extension RuleFamily {
    static func nestedRanges(_ kind: String) -> [(String, ParamRange)] { [] }
    static var familyRanges: [String: ParamRange] { [:] }
    static var rulesHaveChannel: Bool { true }
    static var sectionVersion: UInt64 { 1 }
    var active: Bool { true }

    func configure(_ settings: inout CoreSettings) {}
    mutating func addCustomer() {}
    mutating func erase(_ c: Int) {}
    mutating func select(_ c: Int) {}
    mutating func onEvent(_ e: AppliedEvent, _ c: Int, _ core: inout TaskCore, fired: inout [EventFiring]) {}
    mutating func wake(_ c: Int, at w: Millis, _ core: TaskCore) {}
    mutating func prune(_ c: Int, _ core: TaskCore) {}
    func customerFields(_ c: Int, _ core: TaskCore, at t: Millis, view: Bool, into fields: inout [CustomerField]) {}
    func encodeSection(_ w: inout ByteWriter, _ core: TaskCore) {}
    mutating func decodeSection(
        _ r: inout ByteReader, version: UInt64, _ core: TaskCore, remap: RuleRemap
    ) throws(SnapshotError) {}
    mutating func startFromFacts(_ core: TaskCore) {}
    mutating func migrate(format1 customers: [Format1Customer], _ core: TaskCore) {
        startFromFacts(core)
    }

    /// The customer's facts: `n`, `L`, `first`, money, the VIP card.
    @inline(__always)
    func facts(_ c: Int, _ core: TaskCore) -> CustomerFacts { core.customers.read(c) { $0.facts } }
}

/// Takes the wake-ups a family has pending for a customer.
protocol WakeSink {
    mutating func add(_ rule: Int32, _ touch: Int32, _ due: Millis, _ anchor: Millis)
}

/// A rule whose touches are anchored on the last purchase at fixed offsets and fire while the
/// customer's facts qualify (RF lifecycle, reanimation chains).
public protocol AnchoredTouches: Sendable, Equatable {
    var touchCount: Int { get }
    func due(touch: Int, last: Millis) -> Millis
    func applies(to facts: CustomerFacts) -> Bool
}

extension RuleFamily where Rule: AnchoredTouches {
    func candidates<S: WakeSink>(_ c: Int, _ core: TaskCore, _ body: inout S) {
        let f = facts(c, core)
        guard f.completedOrders > 0 else { return }
        // By index, the rules read in place: `for r in rules` copied each rule (a reanimation
        // rule's touches and their channels retained and released at every reschedule).
        let rules = self.rules
        for i in rules.indices {
            for k in 1...rules[i].rule.touchCount {
                body.add(rules[i].index, Int32(k), rules[i].rule.due(touch: k, last: f.lastPurchaseAt), f.lastPurchaseAt)
            }
        }
    }

    func holds(_ local: Int, touch: Int32, _ c: Int, _ core: TaskCore) -> Bool {
        rules[local].rule.applies(to: facts(c, core))
    }
}

/// A compiled rule and its place in the rule set's rule_id order.
struct Indexed<Rule: Sendable & Equatable>: Sendable, Equatable {
    var index: Int32
    var rule: Rule
}

/// One touch's channel and conversion window.
public struct TouchSpec: Sendable, Equatable {
    public var channel: String
    public var windowDays: Int
}

/// Settings of the shared core that families supply.
struct CoreSettings: Sendable {
    /// Views within this span of each other co-occur (spec 3.6).
    var coviewWindowMs: Millis = 24 * millisPerHour
    /// How long a customer's recent views and order mentions are kept: the longest window that
    /// reads them.
    var viewRetentionMs: Millis = 0
    /// Neighbours per product the co-occurrence model scores with (0: all).
    var maxNeighbours = 0
}

/// What an event did to the customer's facts, as families see it.
enum AppliedEvent {
    /// An order event that changed the order: whether it completed it, and the products it now
    /// lists.
    case order(completed: Bool, products: [Int32], at: Millis, late: Bool)
    case view(product: Int32, at: Millis, late: Bool)
    case email(at: Millis, late: Bool)

    var late: Bool {
        switch self {
        case .order(_, _, _, let l), .view(_, _, let l), .email(_, let l): return l
        }
    }
}

/// A touch fired at an event's own instant (spec 3.8 item 8: in (rule_id, touch) order).
struct EventFiring: Sendable {
    var rule: Int32
    var touch: Int32
    var firing: Firing = Firing()
}

/// What a trigger carries beyond the rule, the touch and the customer.
struct Firing: Sendable {
    var offer: Offer?
    var products: [CarriedProduct]?
    var recommendations: [String]?
}

/// A snapshot's rule indices renumbered into the current rule set's: -1 for a rule that is gone.
struct RuleRemap: Sendable {
    let map: [Int32]

    func callAsFunction(_ old: Int32) throws(SnapshotError) -> Int32 {
        guard old >= 0 && Int(old) < map.count else { throw SnapshotError("bad rule index \(old)") }
        return map[Int(old)]
    }
}

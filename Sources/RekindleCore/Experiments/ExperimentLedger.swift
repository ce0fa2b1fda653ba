/// One rule's experiment counts (spec 7.2), at the customer level: the customers whose first touch
/// of the rule was sent (treated) or withheld by its holdout (control), those of them who completed
/// a purchase within that touch's conversion window, and the revenue of those purchases.
public struct LiftCounts: Sendable, Equatable {
    public struct Arm: Sendable, Equatable {
        public var customers = 0
        public var converted = 0
        /// In cents, each purchase rounded to the cent: sums that do not depend on their order
        /// (a restored task recounts them in another order than the fold added them).
        public var revenueCents: Int64 = 0

        public var revenue: Double { Double(revenueCents) / 100 }

        public init(customers: Int = 0, converted: Int = 0, revenueCents: Int64 = 0) {
            self.customers = customers
            self.converted = converted
            self.revenueCents = revenueCents
        }
    }

    public var treated = Arm()
    public var control = Arm()

    public init(treated: Arm = Arm(), control: Arm = Arm()) {
        self.treated = treated
        self.control = control
    }

    public static func + (a: LiftCounts, b: LiftCounts) -> LiftCounts {
        func add(_ x: Arm, _ y: Arm) -> Arm {
            Arm(customers: x.customers + y.customers, converted: x.converted + y.converted, revenueCents: x.revenueCents + y.revenueCents)
        }
        return LiftCounts(treated: add(a.treated, b.treated), control: add(a.control, b.control))
    }
}

/// Each customer's first touch of each rule while an experiment runs, and whether they bought in
/// its window: what lift is counted from. Kept by the task (replay equals live, and a snapshot
/// holds it, so a restart neither loses nor doubles a customer); the counts per rule follow it.
struct ExperimentLedger: Sendable {
    enum Group: UInt8 {
        case treated = 0
        case control = 1
        /// Withheld for another reason (the global control group, later caps or consent): the
        /// customer's first touch was neither sent nor held out, so they count in neither arm.
        case other = 2

        var name: String {
            switch self {
            case .treated: return "treated"
            case .control: return "control"
            case .other: return "withheld"
            }
        }
    }

    struct Exposure: Sendable, Equatable {
        var group: Group
        var firedAt: Millis
        var windowEnd: Millis
        var converted = false
        var revenueCents: Int64 = 0
    }

    /// By `customer << 32 | rule`.
    private(set) var exposures: [UInt64: Exposure] = [:]
    /// By rule index.
    private(set) var counts: [LiftCounts]

    init(rules: Int) { counts = Array(repeating: LiftCounts(), count: rules) }

    private static func key(_ c: Int, _ rule: Int32) -> UInt64 { UInt64(c) << 32 | UInt64(UInt32(bitPattern: rule)) }

    /// A touch of `rule` to customer `c`: the customer's first of that rule joins `group`.
    mutating func touched(_ c: Int, rule: Int32, group: Group, at t: Millis, windowEnd: Millis) {
        let k = Self.key(c, rule)
        guard exposures[k] == nil else { return }
        exposures[k] = Exposure(group: group, firedAt: t, windowEnd: windowEnd)
        switch group {
        case .treated: counts[Int(rule)].treated.customers += 1
        case .control: counts[Int(rule)].control.customers += 1
        case .other: break
        }
    }

    /// Customer `c` completed a purchase at `t`: it counts for every first touch whose window holds it.
    mutating func purchased(_ c: Int, at t: Millis, revenue: Double) {
        let cents = Self.cents(revenue)
        for rule in counts.indices {
            let k = Self.key(c, Int32(rule))
            guard var e = exposures[k], e.group != .other, e.firedAt < t && t <= e.windowEnd else { continue }
            let first = !e.converted
            e.converted = true
            e.revenueCents &+= cents
            exposures[k] = e
            if e.group == .treated {
                if first { counts[rule].treated.converted += 1 }
                counts[rule].treated.revenueCents &+= cents
            } else {
                if first { counts[rule].control.converted += 1 }
                counts[rule].control.revenueCents &+= cents
            }
        }
    }

    /// Forgets customer `c`'s first touches, and takes them out of the counts (which then equal a
    /// recount of what is kept, as a restore makes them).
    mutating func erase(_ c: Int) {
        for rule in counts.indices {
            guard let e = exposures.removeValue(forKey: Self.key(c, Int32(rule))) else { continue }
            count(e, rule: rule, sign: -1)
        }
    }

    /// Adds (`sign` 1) or takes out (-1) one exposure's customer, conversion and revenue.
    private mutating func count(_ e: Exposure, rule: Int, sign: Int) {
        func apply(_ arm: inout LiftCounts.Arm) {
            arm.customers += sign
            if e.converted { arm.converted += sign }
            arm.revenueCents &+= Int64(sign) &* e.revenueCents
        }
        switch e.group {
        case .treated: apply(&counts[rule].treated)
        case .control: apply(&counts[rule].control)
        case .other: break
        }
    }

    /// A purchase's total in cents (totals are finite and below 2^63 cents: the decoder's bounds).
    static func cents(_ total: Double) -> Int64 {
        let c = (total * 100).rounded()
        return c.isFinite && abs(c) < 9.2e18 ? Int64(c) : 0
    }

    /// Customer `c`'s first touch of `rule`, if it had one.
    func exposure(_ c: Int, rule: Int32) -> Exposure? { exposures[Self.key(c, rule)] }

    // MARK: - Snapshot section

    static let section = "experiments"
    static let sectionVersion: UInt64 = 1

    /// The experiment's name, then each exposure in key order (so equal ledgers are equal bytes).
    func encode(_ w: inout ByteWriter, experiment: String) {
        w.string(experiment)
        w.varint(UInt64(exposures.count))
        for k in exposures.keys.sorted() {
            let e = exposures[k]!
            w.varint(k >> 32)
            w.varint(k & 0xffff_ffff)
            w.u8(e.group.rawValue | (e.converted ? 0x10 : 0))
            w.int(e.firedAt)
            w.int(e.windowEnd &- e.firedAt)
            w.int(e.revenueCents)
        }
    }

    /// Reads a section written for `experiment` under the snapshot's rules (renumbered by
    /// `remap`); nil when it is another experiment's (a new name draws new groups: its counts
    /// start again).
    static func decode(
        _ r: inout ByteReader, experiment: String, rules: Int, customers: Int, remap: RuleRemap
    ) throws(SnapshotError) -> ExperimentLedger? {
        let name = try r.string()
        var ledger = ExperimentLedger(rules: rules)
        let n = try r.count()
        for _ in 0..<n {
            let c = try r.varint(), oldRule = try r.varint()
            guard c < UInt64(customers) else { throw SnapshotError("experiments: customer \(c) of \(customers)") }
            let flags = try r.u8()
            guard let group = Group(rawValue: flags & 0x0f), flags & ~0x1f == 0 else {
                throw SnapshotError("experiments: bad flags \(flags)")
            }
            let firedAt = try r.int()
            let windowEnd = firedAt &+ (try r.int())
            let revenueCents = try r.int()
            guard oldRule <= UInt64(Int32.max) else { throw SnapshotError("experiments: rule \(oldRule)") }
            let rule = try remap(Int32(oldRule))
            guard rule >= 0, name == experiment else { continue }
            let k = key(Int(c), rule)
            guard ledger.exposures[k] == nil else { throw SnapshotError("experiments: customer \(c) rule \(oldRule) twice") }
            ledger.exposures[k] = Exposure(
                group: group, firedAt: firedAt, windowEnd: windowEnd, converted: flags & 0x10 != 0, revenueCents: revenueCents)
        }
        guard name == experiment else { return nil }
        ledger.recount()
        return ledger
    }

    /// The counts from the exposures (after a restore).
    private mutating func recount() {
        for k in counts.indices { counts[k] = LiftCounts() }
        for (k, e) in exposures { count(e, rule: Int(k & 0xffff_ffff), sign: 1) }
    }
}

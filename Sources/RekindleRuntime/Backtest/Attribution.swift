import RekindleCore

/// A touch as the back-test keeps it: which rule of its rule set, whom, when, for how long its
/// conversion window runs, and the recommendations it carried.
struct Touch: Sendable {
    var rule: Int32
    var customerId: String
    var firedAt: Millis
    var windowMs: Millis
    var recommendations: [String]?

    /// `fired_at < t <= fired_at + window`: the bounds of spec section 2's conversions.
    func window(contains t: Millis) -> Bool { firedAt < t && t <= firedAt.adding(windowMs) }
}

extension Touch {
    init(_ t: Trigger, rule: Int) {
        self.rule = Int32(rule)
        customerId = t.customerId
        firedAt = t.firedAt
        windowMs = Millis(t.conversionWindowDays) * millisPerDay
        recommendations = t.recommendations.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Multi-touch attribution (seed 004, spec 7.4) of the purchases to the touches whose conversion
/// windows contain them, under four models. Each purchase that lands in at least one window
/// carries a credit of exactly one conversion and exactly its revenue under every model, split
/// among those touches in firing order:
/// - last touch: all to the last (the `campaign-conversions` topic's attribution);
/// - first touch: all to the first;
/// - linear: equal shares;
/// - U-shaped: 40% to the first, 40% to the last, 20% shared by those between (one touch takes
///   everything, two share 50/50).
/// An order converts at most once, at its first completion that lands in a window, as on the
/// topic (spec 3.8 item 9). Revenue is split in whole cents by largest remainder, so each
/// purchase's cents add up to its revenue exactly.
enum AttributionModel: Int, CaseIterable, Sendable {
    case lastTouch, firstTouch, linear, uShaped

    var name: String {
        switch self {
        case .lastTouch: return "last_touch"
        case .firstTouch: return "first_touch"
        case .linear: return "linear"
        case .uShaped: return "u_shaped"
        }
    }

    var title: String {
        switch self {
        case .lastTouch: return "last touch"
        case .firstTouch: return "first touch"
        case .linear: return "linear"
        case .uShaped: return "U-shaped"
        }
    }

    /// The shares of `n` touches in firing order; they add up to one.
    func weights(_ n: Int) -> [Double] {
        precondition(n > 0)
        switch self {
        case .lastTouch: return (0..<n).map { $0 == n - 1 ? 1 : 0 }
        case .firstTouch: return (0..<n).map { $0 == 0 ? 1 : 0 }
        case .linear: return [Double](repeating: 1 / Double(n), count: n)
        case .uShaped:
            if n == 1 { return [1] }
            if n == 2 { return [0.5, 0.5] }
            let middle = 0.2 / Double(n - 2)
            return (0..<n).map { $0 == 0 || $0 == n - 1 ? 0.4 : middle }
        }
    }

    /// The touch, of `n` in firing order, that this model gives the whole of a purchase: the
    /// only one, the first or the last; nil when it shares it among several.
    func wholeTouch(of n: Int) -> Int? {
        if n == 1 { return 0 }
        switch self {
        case .lastTouch: return n - 1
        case .firstTouch: return 0
        case .linear, .uShaped: return nil
        }
    }

    /// `cents` split by `weights` in whole cents: each share rounded down, the cents left over
    /// given one each to the largest remainders (ties to the earlier touch). Adds up exactly.
    static func split(_ cents: Int64, by weights: [Double]) -> [Int64] {
        let magnitude = cents.magnitude
        let exact = weights.map { $0 * Double(magnitude) }
        var shares = exact.map { UInt64($0.rounded(.down)) }
        var left = Int(magnitude - min(magnitude, shares.reduce(0, +)))
        let order = exact.indices.sorted { (exact[$0] - exact[$0].rounded(.down), -$0) > (exact[$1] - exact[$1].rounded(.down), -$1) }
        var k = 0
        while left > 0 {
            shares[order[k % order.count]] += 1
            left -= 1
            k += 1
        }
        return shares.map { cents < 0 ? -Int64($0) : Int64($0) }
    }
}

/// What the attribution gives each rule of one rule set.
struct RuleCredit: Sendable, Equatable {
    /// Conversions and revenue (cents) by model (`AttributionModel.rawValue`).
    var conversions = [Double](repeating: 0, count: AttributionModel.allCases.count)
    var cents = [Int64](repeating: 0, count: AttributionModel.allCases.count)
    /// Triggers that carried recommendations, and those whose customer then bought a recommended
    /// product within the trigger's conversion window (spec 7.4's hit rate).
    var recommending = 0
    var hits = 0
}

struct Attribution: Sendable {
    /// Per rule of the rule set (its index in `RuleSet.rules`).
    var rules: [RuleCredit]
    /// Purchases credited (one conversion each), and their revenue.
    var purchases = 0
    var cents: Int64 = 0

    /// Attributes `purchases` (every completion, in fold order) to the touches of a rule set with
    /// `ruleCount` rules.
    init(_ log: TouchLog, purchases: [PurchaseHistory.Purchase], ruleCount: Int) {
        rules = [RuleCredit](repeating: RuleCredit(), count: ruleCount)
        let touches = log.touches
        // Customers with touches by a number, and their touches' customer by number: one hash
        // of the id per purchase, where a dictionary of purchases by id and a set of (id, order)
        // pairs hashed it three times (with the order's id once more).
        var number: [String: Int32] = [:]
        number.reserveCapacity(log.byCustomer.count)
        var chains: [[Int32]] = []
        chains.reserveCapacity(log.byCustomer.count)
        var customerOf = [Int32](repeating: -1, count: touches.count)
        for (id, chain) in log.byCustomer {
            for k in chain { customerOf[Int(k)] = Int32(chains.count) }
            number[id] = Int32(chains.count)
            chains.append(chain)
        }
        var bought = [[Int]](repeating: [], count: chains.count)
        // Per customer, the orders converted so far (a customer has few).
        var converted = [[String]](repeating: [], count: chains.count)
        for (k, p) in purchases.enumerated() {
            guard let n = number[p.customerId].map(Int.init) else { continue }
            bought[n].append(k)
            let inWindow = chains[n].compactMap { k in touches[Int(k)].window(contains: p.at) ? Int(k) : nil }
            guard !inWindow.isEmpty, !converted[n].contains(p.orderId) else { continue }
            converted[n].append(p.orderId)
            self.purchases += 1
            cents += p.cents
            for model in AttributionModel.allCases {
                // One touch, or a model that gives one touch everything: that touch takes one
                // conversion and every cent, as `weights` and `split` give it (a weight of 1 or 0
                // times the cents is exact, so nothing is left over), without their arrays (two
                // per purchase and model were most of the attribution's allocations).
                if let whole = model.wholeTouch(of: inWindow.count) {
                    let r = Int(touches[inWindow[whole]].rule)
                    rules[r].conversions[model.rawValue] += 1
                    rules[r].cents[model.rawValue] += p.cents
                    continue
                }
                let weights = model.weights(inWindow.count)
                let split = AttributionModel.split(p.cents, by: weights)
                for (j, t) in inWindow.enumerated() {
                    let r = Int(touches[t].rule)
                    rules[r].conversions[model.rawValue] += weights[j]
                    rules[r].cents[model.rawValue] += split[j]
                }
            }
        }
        for (i, t) in touches.enumerated() {
            guard let recommended = t.recommendations else { continue }
            rules[Int(t.rule)].recommending += 1
            let hit = bought[Int(customerOf[i])].contains { k in
                t.window(contains: purchases[k].at) && purchases[k].products.contains { recommended.contains($0) }
            }
            if hit { rules[Int(t.rule)].hits += 1 }
        }
    }
}

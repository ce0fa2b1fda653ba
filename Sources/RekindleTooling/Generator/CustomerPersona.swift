import RekindleCore
/// The kinds of customer in the synthetic shop, mixed so that a few months of the stream
/// exercise every rule family of spec section 3.
enum CustomerPersona: UInt8, Sendable, CaseIterable {
    /// Views products in a session or a few, never buys (stage.prospect, view.abandoned).
    case browser
    /// Only opens and clicks emails, in bursts with long quiet spells (engagement.cooled/rewarmed).
    case subscriber
    /// Buys once and drifts away (rf.new ... rf.dormant, reanimation.one, stage.at_risk/lapsed).
    case oneTimeBuyer
    /// Buys on a rhythm of 10-60 days with jitter (rf.loyal, stage.replenish).
    case repeatBuyer
    /// Buys 2-5 times in the first weeks, then stops (rf.at_risk/lost, frequency.fall,
    /// reanimation.few/many).
    case lapsingBuyer
    /// A burst of 7-9 completed purchases a few days apart (frequency.rise).
    case burstyBuyer
    /// Large baskets every 1-2 weeks (vip.entered by 5 purchases and 20,000); half hold a VIP card.
    case highSpender

    /// Customers per thousand.
    var perMille: Int {
        switch self {
        case .browser: 380
        case .subscriber: 120
        case .oneTimeBuyer: 250
        case .repeatBuyer: 130
        case .lapsingBuyer: 70
        case .burstyBuyer: 20
        case .highSpender: 30
        }
    }

    /// Chance that the customer holds a VIP card (`loyalty_tier: "vip"` on their orders).
    var vipCardShare: Double {
        switch self {
        case .highSpender: 0.5
        case .lapsingBuyer: 0.1
        case .repeatBuyer: 0.05
        default: 0
        }
    }

    /// Chance that the customer is on the mailing list.
    var subscriberShare: Double { self == .subscriber ? 1 : 0.3 }

    private static let weights = allCases.map(\.perMille)

    /// The persona of customer number `number` (1-based). The first customers take one persona
    /// each, so that even a tiny stream shows every kind.
    static func of(customer number: Int, _ rng: inout SplitMix64) -> CustomerPersona {
        if number <= allCases.count { return allCases[number - 1] }
        return allCases[rng.weighted(weights)]
    }
}

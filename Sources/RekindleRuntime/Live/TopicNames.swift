import RekindleCore

/// The topics a live run reads and writes (all configurable; defaults of spec section 2).
public struct TopicNames: Sendable, Equatable {
    public var orders = "orders"
    public var productViews = "product-views"
    public var emailOpens = "email-opens"
    public var triggers = "campaign-triggers"
    public var conversions = "campaign-conversions"
    public var deadLetters = "rekindle-dead-letters"
    /// Touches decided but withheld (spec 7.1: holdouts, the global control group).
    public var withheld = "campaign-withheld"
    /// The compacted topic of the Kafka snapshot store.
    public var snapshots = "rekindle-snapshots"

    public init() {}

    /// `rekindle broker` creates this topic: its presence says the cluster is the embedded mock,
    /// whose transactions have no effect (so `transactions: auto` leaves them off there).
    public static let embeddedBrokerMarker = "rekindle-embedded-broker"

    public var inputs: [String] { [orders, productViews, emailOpens] }
    public var all: [String] { inputs + [triggers, conversions, deadLetters, withheld, snapshots] }

    public func name(of topic: Topic) -> String {
        switch topic {
        case .orders: return orders
        case .productViews: return productViews
        case .emailOpens: return emailOpens
        }
    }

    public func input(named name: String) -> Topic? {
        switch name {
        case orders: return .orders
        case productViews: return .productViews
        case emailOpens: return .emailOpens
        default: return nil
        }
    }
}

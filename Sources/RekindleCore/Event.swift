/// The three input kinds of spec section 2, decoded and validated.
public enum OrderStatus: UInt8, Sendable, CaseIterable {
    case created, paid, completed, cancelled, returned

    public init?(name: String) {
        switch name {
        case "created": self = .created
        case "paid": self = .paid
        case "completed": self = .completed
        case "cancelled": self = .cancelled
        case "returned": self = .returned
        default: return nil
        }
    }
}

/// Which input topic an event belongs on; also the tie order of spec section 4
/// (orders, then product-views, then email-opens).
public enum Topic: Int, Sendable, CaseIterable, Comparable {
    case orders = 0, productViews = 1, emailOpens = 2

    public static func < (a: Topic, b: Topic) -> Bool { a.rawValue < b.rawValue }

    public var defaultName: String {
        switch self {
        case .orders: return "orders"
        case .productViews: return "product-views"
        case .emailOpens: return "email-opens"
        }
    }
}

public struct OrderItem: Sendable, Equatable {
    public var productId: String
    public var quantity: Int64
    public var price: Double?
    public init(productId: String, quantity: Int64 = 1, price: Double? = nil) {
        self.productId = productId
        self.quantity = quantity
        self.price = price
    }
}

public struct OrderEvent: Sendable, Equatable {
    public var orderId: String
    public var status: OrderStatus
    public var total: Double
    public var currency: String?
    public var items: [OrderItem]
    public var loyaltyTier: String?
    public init(
        orderId: String, status: OrderStatus, total: Double, currency: String? = nil,
        items: [OrderItem] = [], loyaltyTier: String? = nil
    ) {
        self.orderId = orderId
        self.status = status
        self.total = total
        self.currency = currency
        self.items = items
        self.loyaltyTier = loyaltyTier
    }
}

public struct ProductViewEvent: Sendable, Equatable {
    public var productId: String
    public var sessionId: String?
    public var category: String?
    public var price: Double?
    public init(productId: String, sessionId: String? = nil, category: String? = nil, price: Double? = nil) {
        self.productId = productId
        self.sessionId = sessionId
        self.category = category
        self.price = price
    }
}

public struct EmailEvent: Sendable, Equatable {
    public var clicked: Bool
    public var messageId: String
    public var campaign: String?
    public var triggerId: String?
    public var url: String?
    public init(
        clicked: Bool, messageId: String, campaign: String? = nil, triggerId: String? = nil, url: String? = nil
    ) {
        self.clicked = clicked
        self.messageId = messageId
        self.campaign = campaign
        self.triggerId = triggerId
        self.url = url
    }
}

/// A customer's consent to be contacted on a channel (spec 7.3), on the `email-opens` topic:
/// granted until revoked (unless the policy requires an opt-in). Not an engagement signal.
public struct ConsentEvent: Sendable, Equatable {
    /// `email`, `sms`, `manager` or `any` (every channel).
    public var channel: String
    public var granted: Bool
    public init(channel: String, granted: Bool) {
        self.channel = channel
        self.granted = granted
    }
}

public struct Event: Sendable, Equatable {
    public enum Body: Sendable, Equatable {
        case order(OrderEvent)
        case productView(ProductViewEvent)
        case email(EmailEvent)
        case consent(ConsentEvent)
        /// The customer asks to be forgotten (spec 7.3, GDPR article 17); on any input topic.
        case erasure
    }

    public var eventId: String
    public var customerId: String
    public var occurredAt: Millis
    public var body: Body

    /// Whether this is an erasure: a pattern match, where `body == .erasure` copied and compared
    /// the whole body for every event folded (seen in profiles of the back-test's fold threads).
    public var isErasure: Bool {
        if case .erasure = body { return true }
        return false
    }

    public init(eventId: String, customerId: String, occurredAt: Millis, body: Body) {
        self.eventId = eventId
        self.customerId = customerId
        self.occurredAt = occurredAt
        self.body = body
    }

    public var topic: Topic {
        switch body {
        case .order: return .orders
        case .productView: return .productViews
        case .email, .consent: return .emailOpens
        // On any topic; produced to `orders` when a tool has to pick one.
        case .erasure: return .orders
        }
    }

    public var typeName: String {
        switch body {
        case .order: return "order"
        case .productView: return "product_view"
        case .email(let e): return e.clicked ? "email_click" : "email_open"
        case .consent: return "consent"
        case .erasure: return "erasure"
        }
    }
}

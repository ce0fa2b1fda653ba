/// One line of the stream, kept compact until it is written: a million of these take tens of
/// megabytes, where the rendered lines would take hundreds.
struct SyntheticEvent: Sendable {
    enum Kind: UInt8, Sendable {
        case order, productView, emailOpen, emailClick
        /// A bad input; `status` holds its `BadLineKind` and `total` the salt that shapes it.
        case bad
    }

    enum Status: UInt8, Sendable, CaseIterable {
        case created, paid, completed, cancelled, returned

        var name: String {
            switch self {
            case .created: "created"
            case .paid: "paid"
            case .completed: "completed"
            case .cancelled: "cancelled"
            case .returned: "returned"
            }
        }
    }

    var kind: Kind
    /// `Status` for orders, `BadLineKind` for bad lines.
    var status: UInt8 = 0
    var style: TimestampStyle = .utcMillis
    /// The order carries `loyalty_tier: "vip"`.
    var vipTier = false
    var customer: UInt32
    var eventNumber: UInt32 = 0
    /// Order, product or message number, by kind.
    var subject: UInt32
    /// Session number of a view; campaign index of an email event.
    var context: UInt32 = 0
    /// Product linked from a click (`url`), 0 for none.
    var linkedProduct: UInt32 = 0
    /// The order's items: `itemCount` entries of the stream's item table from `itemStart`.
    var itemStart: UInt32 = 0
    var itemCount: UInt16 = 0
    var occurredAt: Int64
    /// Order total in kopecks.
    var total: Int64 = 0
}

/// One line of an order's `items`; the price is the catalogue's.
struct SyntheticOrderItem: Sendable {
    var product: UInt32
    var quantity: UInt32
}

/// Writes an event as its JSON line (spec section 2), optionally with one defect that makes it
/// a bad input. Field order follows the spec's tables.
struct EventLine {
    /// What is wrong with a bad line; `none` for a good one.
    struct Defect: Sendable {
        /// A required field left out.
        var omit: String?
        /// A field written with the wrong JSON type (a number for a string, a string for a number).
        var wrongType: String?
        /// `occurred_at` replaced by this string.
        var occurredAt: String?
        var type: String?
        var status: String?

        static let none = Defect()
    }

    let catalog: ProductCatalog
    let items: [SyntheticOrderItem]
    private(set) var writer = JSONLineWriter()
    private var defect = Defect.none

    init(catalog: ProductCatalog, items: [SyntheticOrderItem]) {
        self.catalog = catalog
        self.items = items
    }

    var bytes: [UInt8] { writer.bytes }

    /// Renders `event` (any kind but `.bad`) into `bytes`.
    mutating func render(
        _ event: SyntheticEvent, items orderItems: ArraySlice<SyntheticOrderItem>? = nil,
        defect: Defect = .none
    ) {
        self.defect = defect
        writer.reset()
        writer.beginObject()
        switch event.kind {
        case .order: order(event, orderItems ?? slice(event))
        case .productView: view(event)
        case .emailOpen, .emailClick: email(event)
        case .bad: break
        }
        writer.endObject()
    }

    /// Replaces the line with `text` as it is (for lines that are not JSON at all).
    mutating func renderRaw(_ text: String) {
        writer.reset()
        writer.appendRaw(text)
    }

    /// Cuts the rendered line short.
    mutating func truncate(to count: Int) { writer.truncate(to: count) }

    private func slice(_ event: SyntheticEvent) -> ArraySlice<SyntheticOrderItem> {
        let from = Int(event.itemStart)
        return items[from..<(from + Int(event.itemCount))]
    }

    private mutating func order(_ e: SyntheticEvent, _ orderItems: ArraySlice<SyntheticOrderItem>) {
        type("order")
        id("event_id", UInt8(ascii: "e"), e.eventNumber)
        id("customer_id", UInt8(ascii: "c"), e.customer)
        id("order_id", UInt8(ascii: "o"), e.subject)
        if keep("status") {
            if let status = defect.status {
                writer.string("status", status)
            } else if defect.wrongType == "status" {
                writer.integer("status", Int64(e.status))
            } else {
                writer.string(
                    "status", SyntheticEvent.Status(rawValue: e.status)?.name ?? "created")
            }
        }
        occurredAt(e)
        if keep("total") {
            if defect.wrongType == "total" {
                // A string such as "1234.50": the classic producer bug.
                writer.key("total")
                writer.appendRaw("\"")
                writer.appendInteger(e.total / 100)
                writer.appendRaw(".")
                writer.appendRaw(e.total % 100 < 10 ? "0" : "")
                writer.appendInteger(e.total % 100)
                writer.appendRaw("\"")
            } else {
                writer.money("total", e.total)
            }
        }
        writer.string("currency", "RUB")
        if !orderItems.isEmpty {
            writer.beginArray("items")
            for item in orderItems {
                writer.beginElement()
                writer.id("product_id", UInt8(ascii: "p"), item.product)
                writer.integer("quantity", Int64(item.quantity))
                writer.money("price", catalog.price(item.product))
                writer.endObject()
            }
            writer.endArray()
        }
        if e.vipTier { writer.string("loyalty_tier", "vip") }
    }

    private mutating func view(_ e: SyntheticEvent) {
        type("product_view")
        id("event_id", UInt8(ascii: "e"), e.eventNumber)
        id("customer_id", UInt8(ascii: "c"), e.customer)
        id("product_id", UInt8(ascii: "p"), e.subject)
        occurredAt(e)
        writer.id("session_id", UInt8(ascii: "s"), e.context)
        writer.string("category", catalog.categoryName(e.subject))
        writer.money("price", catalog.price(e.subject))
    }

    private mutating func email(_ e: SyntheticEvent) {
        type(e.kind == .emailOpen ? "email_open" : "email_click")
        id("event_id", UInt8(ascii: "e"), e.eventNumber)
        id("customer_id", UInt8(ascii: "c"), e.customer)
        id("message_id", UInt8(ascii: "m"), e.subject)
        occurredAt(e)
        let campaign = EmailSchedule.campaigns[Int(e.context)].name
        writer.string("campaign", campaign)
        if e.linkedProduct != 0 {
            writer.key("url")
            writer.appendRaw("\"https://shop.example/p/p")
            writer.appendDecimal(UInt64(e.linkedProduct))
            writer.appendRaw("?utm_source=email&utm_campaign=")
            writer.appendRaw(campaign)
            writer.appendRaw("\"")
        }
    }

    private func keep(_ field: String) -> Bool { defect.omit != field }

    private mutating func type(_ name: String) {
        writer.string("type", defect.type ?? name)
    }

    /// A required id: `"c42"`, or the bare number when it is the defect.
    private mutating func id(_ field: String, _ prefix: UInt8, _ number: UInt32) {
        guard keep(field) else { return }
        if defect.wrongType == field {
            writer.integer(field, Int64(number))
        } else {
            writer.id(field, prefix, number)
        }
    }

    private mutating func occurredAt(_ e: SyntheticEvent) {
        guard keep("occurred_at") else { return }
        if let text = defect.occurredAt {
            writer.string("occurred_at", text)
        } else if defect.wrongType == "occurred_at" {
            writer.integer("occurred_at", e.occurredAt)
        } else {
            writer.timestamp("occurred_at", e.occurredAt, e.style)
        }
    }
}

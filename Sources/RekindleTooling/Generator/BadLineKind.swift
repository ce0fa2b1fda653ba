import RekindleCore
/// The bad inputs mixed into a stream when `badFraction > 0`. Each must reach the dead-letter
/// topic (spec section 2); each is still one line.
enum BadLineKind: UInt8, Sendable, CaseIterable {
    /// Not JSON at all, or JSON that is not an object: an HTML error page, CSV, a trailing comma.
    case notJSON
    /// A good event cut short.
    case truncated
    /// A required field left out.
    case missingField
    /// A required field of the wrong type: `"total":"1234.50"`, `"customer_id":42`.
    case wrongType
    /// `occurred_at` that is not RFC 3339 with an offset: `"yesterday"`.
    case badTimestamp
    /// A `type` no topic carries.
    case unknownType
    /// An order `status` outside the five.
    case unknownStatus
}

extension BadLineKind {
    /// Renders the bad line `event` (kind `.bad`) into `line`. The line is drawn from the
    /// event's salt, so rendering is as reproducible as the rest of the stream.
    static func render(_ event: SyntheticEvent, into line: inout EventLine) {
        let kind = BadLineKind(rawValue: event.status) ?? .notJSON
        var rng = SplitMix64(seed: UInt64(bitPattern: event.total))
        let customer = "c\(event.customer)"
        if kind == .notJSON {
            line.renderRaw(notJSON(customer: customer, &rng))
            return
        }
        // A plausible event to spoil.
        var base = SyntheticEvent(
            kind: .order, customer: event.customer, subject: event.eventNumber,
            occurredAt: event.occurredAt)
        base.eventNumber = event.eventNumber
        base.style = TimestampStyle.draw(&rng)
        if base.style.wholeSeconds { base.occurredAt -= base.occurredAt % 1000 }
        var items = [SyntheticOrderItem]()
        let catalog = line.catalog
        switch kind == .unknownStatus ? 0 : rng.below(10) {
        case 0..<5:
            base.status = UInt8(rng.below(SyntheticEvent.Status.allCases.count))
            let category = rng.below(catalog.categoryCount)
            for _ in 0..<rng.int(1...2) {
                let product = catalog.pick(in: category, &rng)
                items.append(SyntheticOrderItem(product: product, quantity: 1))
                base.total += catalog.price(product)
            }
        case 5..<8:
            base.kind = .productView
            base.subject = catalog.pick(in: rng.below(catalog.categoryCount), &rng)
            base.context = event.eventNumber
        default:
            base.kind = rng.chance(0.7) ? .emailOpen : .emailClick
            base.context = UInt32(rng.below(EmailSchedule.campaigns.count))
        }
        var defect = EventLine.Defect()
        switch kind {
        case .notJSON, .truncated:
            break
        case .missingField:
            defect.omit = pick(requiredFields(base.kind), &rng)
        case .wrongType:
            defect.wrongType =
                base.kind == .order && rng.chance(0.5)
                ? "total" : pick(requiredFields(base.kind), &rng)
        case .badTimestamp:
            defect.occurredAt = pick(
                [
                    "yesterday", "now", "", "2026-02-30T10:00:00Z", "2026-13-01T00:00:00Z",
                    "2026-03-01T12:00:00", "17.03.2026 12:00", "1767225600000",
                ], &rng)
        case .unknownType:
            defect.type = pick(["page_view", "refund", "cart_add", "Order", "email_bounce"], &rng)
        case .unknownStatus:
            defect.status = pick(["shipped", "COMPLETED", "refunded", "pending", ""], &rng)
        }
        line.render(base, items: items[...], defect: defect)
        if kind == .truncated {
            line.truncate(to: rng.int(1...(line.bytes.count - 1)))
        }
    }

    private static func requiredFields(_ kind: SyntheticEvent.Kind) -> [String] {
        switch kind {
        case .order: ["event_id", "customer_id", "order_id", "status", "occurred_at", "total"]
        case .productView: ["event_id", "customer_id", "product_id", "occurred_at"]
        default: ["event_id", "customer_id", "message_id", "occurred_at"]
        }
    }

    private static func pick(_ options: [String], _ rng: inout SplitMix64) -> String {
        options[rng.below(options.count)]
    }

    private static func notJSON(customer: String, _ rng: inout SplitMix64) -> String {
        switch rng.below(9) {
        case 0: "order \(customer) paid 1234.50"
        case 1: "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
        case 2: "{type: \"order\", customer_id: \"\(customer)\", status: \"paid\"}"
        case 3: "{\"type\":\"product_view\",\"customer_id\":\"\(customer)\",\"product_id\":\"p3\",}"
        case 4: "[{\"type\":\"email_open\",\"customer_id\":\"\(customer)\",\"message_id\":\"m1\"}]"
        case 5: "null"
        case 6: "\(customer);p17;2026-03-01 12:00:00;view"
        case 7: "{\"type\":\"order\",\"customer_id\":\"\(customer)\",\"total\":NaN}"
        default: "\"\(customer)\""
        }
    }
}

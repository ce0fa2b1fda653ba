import RekindleCore
import Testing

@Suite struct EventDecoderTests {
    func reason(_ text: String, topic: Topic? = nil) -> String? {
        if case .failure(let e) = EventDecoder.decode(text, expecting: topic) { return e.reason }
        return nil
    }

    @Test func decodesAnOrderWithItemsAndOptionalNulls() throws {
        let e = try EventDecoder.decode(#"""
            {"total": 1290.5, "items": [{"product_id": "p1", "quantity": 2, "price": 645.25}, {"product_id": "p2"}],
             "status": "completed", "occurred_at": "2026-03-01T15:00:00.250+03:00", "order_id": "o1",
             "customer_id": "c1", "event_id": "e1", "type": "order", "currency": null, "unknown": {"x": 1},
             "loyalty_tier": "vip"}
            """#).get()
        #expect(e.customerId == "c1")
        #expect(e.occurredAt == Timestamp.parse("2026-03-01T12:00:00.250Z"))
        guard case .order(let o) = e.body else { Issue.record("not an order"); return }
        #expect(o.status == .completed)
        #expect(o.total == 1290.5)
        #expect(o.items == [OrderItem(productId: "p1", quantity: 2, price: 645.25), OrderItem(productId: "p2", quantity: 1)])
        #expect(o.currency == nil)
        #expect(o.loyaltyTier == "vip")
    }

    @Test func decodesViewsOpensAndClicks() throws {
        let v = try EventDecoder.decode(#"{"type":"product_view","event_id":"e","customer_id":"c","product_id":"p","occurred_at":"2026-01-01T00:00:00Z"}"#).get()
        #expect(v.body == .productView(ProductViewEvent(productId: "p")))
        let c = try EventDecoder.decode(#"{"type":"email_click","event_id":"e","customer_id":"c","message_id":"m","occurred_at":"2026-01-01T00:00:00Z","url":"https://x"}"#).get()
        #expect(c.body == .email(EmailEvent(clicked: true, messageId: "m", url: "https://x")))
        #expect(c.topic == .emailOpens)
    }

    @Test func eachKindOfBadInputHasAOneLineReason() {
        let base = #""event_id":"e1","customer_id":"c1","occurred_at":"2026-01-01T00:00:00Z""#
        #expect(reason("{not json") == "not valid JSON: expected a member name, got 'n' at byte 1")
        #expect(reason("[1]") == "expected a JSON object, got an array")
        #expect(reason(#"{"type":"order",\#(base),"status":"paid","total":1}"#) == "missing required field order_id")
        #expect(reason(#"{"type":"order",\#(base),"order_id":"o","status":"paid","total":"12"}"#)
            == #"total: expected a number, got string "12""#)
        #expect(reason(#"{"type":"order",\#(base),"order_id":"o","status":"shipped","total":1}"#)
            == #"status: unknown status "shipped""#)
        #expect(reason(#"{"type":"refund",\#(base)}"#) == #"type: unknown event type "refund""#)
        #expect(reason(#"{"type":"product_view","event_id":"e","customer_id":"c","product_id":"p","occurred_at":"yesterday"}"#)
            == #"occurred_at: expected RFC 3339, got "yesterday""#)
        #expect(reason(#"{"type":"product_view","event_id":"e","customer_id":"","product_id":"p","occurred_at":"2026-01-01T00:00:00Z"}"#)
            == "customer_id: expected a non-empty string")
        #expect(reason(#"{"type":"order",\#(base),"order_id":"o","status":"paid","total":1,"items":[{"quantity":1}]}"#)
            == "missing required field items[0].product_id")
        #expect(reason(#"{"type":"email_open",\#(base),"message_id":"m"}"#, topic: .orders)
            == "type: a email_open event does not belong on the orders topic")
    }

    @Test func aMessageOverOneMebibyteIsRejectedBeforeParsing() {
        let big = #"{"type":"product_view","pad":""# + String(repeating: "x", count: 1 << 20) + #""}"#
        #expect(reason(big) == "message is \(big.utf8.count) bytes, over the 1 MiB limit")
    }
}

extension CampaignTask {
    /// Each customer's purchases that count (spec 3.8: completed orders not later cancelled,
    /// returned or moved to another status), as their instants, in the order the customers were
    /// first seen: what `rekindle churn fit` summarises. Read-only; reads the customers' ids and
    /// purchases and nothing else.
    public func forEachCustomerPurchases(_ body: (_ customerId: String, _ purchases: [Millis]) throws -> Void) rethrows {
        for c in core.customers.indices {
            try body(core.customers[c].id, core.customers[c].purchases.map(\.at))
        }
    }
}

/// What a task keeps that every family reads: its customers (facts, orders, recent views, the touch
/// ledger), the product catalogue and the co-occurrence model learned from it, and event time.
struct TaskCore: Sendable {
    /// The rule set's rule ids in rule_id order (a rule's index is its place here).
    let ruleIds: [String]
    let shop: ShopParameters
    let settings: CoreSettings
    /// The largest `occurred_at` applied minus the allowed lateness (or what `advance` set).
    var watermark: Millis = .min
    /// Every timer due at or before this instant has fired; touches due then have passed.
    var timerClock: Millis = .min
    var customers = CustomerStore()
    var productNames: [String] = []
    var productIndex: [String: Int32] = [:]
    var model = Recommender()
    /// Counts views applied, to order equal view times by application.
    var viewSequence: Int64 = 0

    init(rules: RuleSet, settings: CoreSettings) {
        ruleIds = rules.rules.map(\.id)
        shop = rules.shop
        self.settings = settings
        model = Recommender(maxNeighbours: settings.maxNeighbours)
    }

    mutating func intern(product id: String) -> Int32 {
        if let i = productIndex[id] { return i }
        productNames.append(id)
        let i = Int32(productNames.count - 1)
        productIndex[id] = i
        return i
    }

    /// Products the customer ever viewed or bought (in an order that completed, even if it was
    /// returned later): never recommended to them.
    func knownProducts(_ c: Int) -> [Int32] {
        var known = customers[current: c].viewedEver
        customers[current: c].orders.completedProducts(into: &known)
        return known
    }

    /// Up to `limit` products most like `seeds`, none the customer knows (spec 3.6).
    mutating func recommend(_ c: Int, seeds: [Int32], limit: Int) -> [String] {
        model.recommend(seeds: seeds, excluded: knownProducts(c), limit: limit, names: productNames)
    }
}

/// Summaries with identical (x, t_x, T) counted once, with how many customers share each: with
/// whole days there are far fewer distinct summaries than customers, and the likelihood of a
/// million customers costs what their distinct rows cost (Fader and Hardie fit CDNOW this way).
public struct WeightedSummaries: Sendable {
    public private(set) var rows: [ChurnSummary] = []
    public private(set) var weights: [Double] = []
    public private(set) var customers = 0
    private var index: [ChurnSummary: Int] = [:]

    public init() {}

    public init(_ summaries: some Sequence<ChurnSummary>) {
        for s in summaries { add(s) }
    }

    public mutating func add(_ s: ChurnSummary, count: Int = 1) {
        customers += count
        if let k = index[s] {
            weights[k] += Double(count)
        } else {
            index[s] = rows.count
            rows.append(s)
            weights.append(Double(count))
        }
    }

    /// Customers with at least one repeat purchase day.
    public var repeatCustomers: Int {
        var n = 0.0
        for (s, w) in zip(rows, weights) where s.x > 0 { n += w }
        return Int(n)
    }
}

import Foundation

/// How `rekindle generate` spreads views and purchases over the catalogue.
public enum ProductPopularity: Sendable, Equatable {
    /// Each category's first products far more often (rank ~ u^2): the stream as it always was.
    case category
    /// Zipf: a category's product of rank r (1-based) with weight 1 / r^exponent, and a fifth of
    /// the picks from the whole catalogue by the same law (the best-sellers that everyone sees),
    /// so that a few products co-occur with nearly every other (spec 3.6's bounded neighbours).
    case zipf(exponent: Double)

    /// Share of a Zipf catalogue's picks that ignore the category.
    static let bestsellerShare = 0.2

    /// Cumulative Zipf weights of ranks 1...n, the last one 1.
    static func zipfCumulative(_ n: Int, exponent: Double) -> [Double] {
        var sums = [Double]()
        sums.reserveCapacity(n)
        var total = 0.0
        for r in 1...max(1, n) {
            total += 1 / pow(Double(r), exponent)
            sums.append(total)
        }
        return sums.map { $0 / total }
    }

    /// The 0-based rank whose cumulative weight first exceeds `u` (in [0, 1)).
    static func rank(_ cumulative: [Double], _ u: Double) -> Int {
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] > u { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}

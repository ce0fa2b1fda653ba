import Foundation

/// The Gaussian hypergeometric function 2F1(a, b; c; z) for real arguments and z < 1, which is
/// what the BG/NBD model's conditional expectation needs (spec 3.9).
///
/// The power series converges for |z| < 1 only. A negative z is mapped into (0, 1) by Pfaff's
/// transformation, 2F1(a, b; c; z) = (1 - z)^-a 2F1(a, c - b; c; z / (z - 1)); and when
/// c - a - b < 0, where the series grows like (1 - z)^(c - a - b) as z nears 1, Euler's
/// transformation 2F1(a, b; c; z) = (1 - z)^(c - a - b) 2F1(c - a, c - b; c; z) sums a series
/// that stays bounded up to z = 1 instead (lifetimes falls back to it when the first overflows).
public enum Hypergeometric {
    /// Terms are summed until the rest is below this fraction of the sum.
    static let tolerance = 1e-17
    /// The series needs about 40 / (1 - z) terms; this bounds the work for z within 1e-5 of 1.
    static let maxTerms = 4_000_000

    /// 2F1(a, b; c; z) for z < 1; c must not be 0 or a negative integer. NaN outside that domain.
    public static func f21(_ a: Double, _ b: Double, _ c: Double, _ z: Double) -> Double {
        guard z < 1, a.isFinite, b.isFinite, c.isFinite, z.isFinite else { return .nan }
        guard !(c <= 0 && c == c.rounded()) else { return .nan }
        if z == 0 || a == 0 || b == 0 { return 1 }
        if z < 0 {
            // Pfaff: z / (z - 1) is in (0, 1) for every negative z.
            return exp(-a * log1p(-z)) * positive(a, c - b, c, z / (z - 1))
        }
        return positive(a, b, c, z)
    }

    /// 0 <= z < 1.
    static func positive(_ a: Double, _ b: Double, _ c: Double, _ z: Double) -> Double {
        let s = c - a - b
        if s < 0 { return exp(s * log1p(-z)) * series(c - a, c - b, c, z) }
        return series(a, b, c, z)
    }

    /// The power series sum_n (a)_n (b)_n / ((c)_n n!) z^n, summed until the tail is below
    /// `tolerance` of the sum. The ratio of consecutive terms tends to z, from above or below;
    /// once every factor has its final sign, the tail after a term t is at most
    /// |t| m / (1 - m) with m the larger of the last ratio and z.
    static func series(_ a: Double, _ b: Double, _ c: Double, _ z: Double) -> Double {
        sum(term: 1, from: 0, z: z, settled: max(0, -a, -b, -c) + 1) { n in (a + n) * (b + n) / ((c + n) * (n + 1)) * z }
    }

    /// A hypergeometric-type series from its term `term` at index `n` (itself in the sum), each
    /// next term the last times `ratio(n)`, until the tail is below `tolerance` of the sum once
    /// past index `settled` (the bound above), or a term is 0. `BGNBD`'s H series shares it.
    @inline(__always)
    static func sum(term first: Double, from start: Double, z: Double, settled: Double, ratio: (Double) -> Double) -> Double {
        var term = first, sum = first
        var n = start
        for _ in 0..<maxTerms {
            let ratio = ratio(n)
            term *= ratio
            sum += term
            n += 1
            if term == 0 { break }
            if n > settled {
                let m = max(abs(ratio), z)
                if m < 1 && abs(term) * m <= tolerance * abs(sum) * (1 - m) { break }
            }
        }
        return sum
    }
}

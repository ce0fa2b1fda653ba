import Foundation

/// The BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way"), time in
/// weeks: while alive a customer buys at a rate lambda ~ Gamma(r, alpha) and after each purchase
/// dies with probability p ~ Beta(a, b). Spec 3.9's odds of one customer's summary.
public struct ChurnModel: Sendable, Hashable {
    public var r: Double
    public var alpha: Double
    public var a: Double
    public var b: Double

    public init(r: Double, alpha: Double, a: Double, b: Double) {
        self.r = r
        self.alpha = alpha
        self.a = a
        self.b = b
    }

    /// The odds of one summary over a horizon.
    public struct Score: Sendable, Equatable {
        /// P(alive at T).
        public var pAlive: Double
        /// P(no purchase in the next h weeks).
        public var churnRisk: Double
        /// E[Y(h) | x, t_x, T]: the expected purchases (days) in the next h weeks.
        public var expectedPurchases: Double
    }

    /// The horizon in weeks of a rule's `horizon_days`.
    @inlinable public static func horizonWeeks(days: Double) -> Double { days / 7 }

    // MARK: - Likelihood

    /// ln L(r, alpha, a, b | x, t_x, T), the paper's equation (6) in logs:
    /// lnG(r+x) - lnG(r) + r ln(alpha) + ln B(a, b+x) - ln B(a, b)
    ///   + ln[(alpha+T)^-(r+x) + [x > 0] a / (b+x-1) (alpha+t_x)^-(r+x)].
    public func logLikelihood(_ s: ChurnSummary) -> Double {
        let x = Double(s.x)
        let gammas: Double = lgamma(r + x) - lgamma(r) + r * log(alpha)
        let betas: Double = lgamma(a + b) + lgamma(b + x) - lgamma(b) - lgamma(a + b + x)
        let base = gammas + betas
        let k = r + x
        let first = -k * log(alpha + s.T)
        guard s.x > 0 else { return base + first }
        // ln of (second term / first term), then ln(1 + e^u) without overflow.
        let u = log(a / (b + x - 1)) - k * (log(alpha + s.tx) - log(alpha + s.T))
        return base + first + Self.softplus(u)
    }

    /// ln(1 + e^u), exact for large |u|.
    static func softplus(_ u: Double) -> Double {
        u > 0 ? u + log1p(exp(-u)) : log1p(exp(u))
    }

    // MARK: - Odds

    /// a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x) for x > 0, else 0: the odds of
    /// having died after the last purchase against being alive.
    func deathOdds(_ s: ChurnSummary) -> Double {
        guard s.x > 0 else { return 0 }
        let x = Double(s.x)
        return a / (b + x - 1) * exp((r + x) * log((alpha + s.T) / (alpha + s.tx)))
    }

    /// P(alive | x, t_x, T) = 1 / (1 + [x > 0] a / (b+x-1) ((alpha+T) / (alpha+t_x))^(r+x)).
    public func pAlive(_ s: ChurnSummary) -> Double {
        1 / (1 + deathOdds(s))
    }

    /// ((alpha + T) / (alpha + T + h))^(r + x): P(no purchase in the next h weeks | alive).
    func quietIfAlive(_ s: ChurnSummary, horizonWeeks h: Double) -> Double {
        exp(-(r + Double(s.x)) * log1p(h / (alpha + s.T)))
    }

    /// P(no purchase in the next h weeks) = 1 - p_alive (1 - ((alpha+T) / (alpha+T+h))^(r+x)).
    public func churnRisk(_ s: ChurnSummary, horizonWeeks h: Double) -> Double {
        Self.risk(odds: deathOdds(s), quiet: quietIfAlive(s, horizonWeeks: h))
    }

    /// 1 - p (1 - q) = (odds + q) / (1 + odds): no cancellation when p is near 1 and q near 0.
    static func risk(odds: Double, quiet: Double) -> Double {
        odds.isInfinite ? 1 : (odds + quiet) / (1 + odds)
    }

    /// E[Y(h) | x, t_x, T], the paper's equation (10):
    ///   (a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+h))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)] / (1 + odds),
    /// z = h / (alpha+T+h). By Euler's transformation the bracket's product is
    /// (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), whose series converges up to z = 1; writing
    /// that 2F1 as 1 + (a-1) G / (a+b+x-1) leaves no division by a-1 (the paper's form is 0/0 at
    /// a = 1) nor by a+b+x-1 (0 at x = 0, a + b = 1):
    ///   [(a+b+x-1) (1 - (1-z)^(a-1)) / (a-1) - (1-z)^(a-1) H] / (1 + odds),
    ///   H = sum_{n>=1} (a+b-1-r)_n (a)_{n-1} z^n / ((a+b+x)_{n-1} n!).
    public func expectedPurchases(_ s: ChurnSummary, horizonWeeks h: Double) -> Double {
        expectedPurchases(s, horizonWeeks: h, odds: deathOdds(s))
    }

    func expectedPurchases(_ s: ChurnSummary, horizonWeeks h: Double, odds: Double) -> Double {
        guard h > 0 else { return 0 }
        let x = Double(s.x)
        let lnQ = -log1p(h / (alpha + s.T))  // ln(1 - z)
        let z = h / (alpha + s.T + h)
        // H's terms grow while (a + n) z > n + 1: about a z / (1 - z) of them, millions for the
        // a and b of 1e7 that a fit on a month, where nobody has died yet, gives (and e^(e lnQ)
        // underflows to 0 against an infinite sum). There a - 1 is far from 0 and the paper's own
        // series, 2F1(r+x, b+x; a+b+x-1; z), shrinks from its (r+x) z-th term on.
        if a * z > Self.directSeriesAbove {
            return expectedPurchasesByTheDirectSeries(x: x, lnQ: lnQ, z: z, odds: odds)
        }
        let e = a - 1
        // (1 - (1-z)^e) / e, and its limit -ln(1-z) at e = 0.
        let phi = e == 0 ? -lnQ : -expm1(e * lnQ) / e
        let c = a + b + x - 1
        let big = a + b - 1 - r
        // H's terms: t_1 = big z, t_{n+1} = t_n (big+n)(a+n-1) z / ((c+n)(n+1)).
        let first = big * z
        let sum = first == 0 ? first : Hypergeometric.sum(term: first, from: 1, z: z, settled: max(0, -big) + 1) { n in
            (big + n) * (a + n - 1) / ((c + n) * (n + 1)) * z
        }
        return (c * phi - exp(e * lnQ) * sum) / (1 + odds)
    }

    /// Where `a z` passes this, `expectedPurchases` sums equation (10)'s own series.
    static let directSeriesAbove = 100.0

    /// Equation (10) as the paper writes it, for a - 1 > 99:
    ///   (a+b+x-1)/(a-1) [1 - (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z)] / (1 + odds).
    func expectedPurchasesByTheDirectSeries(x: Double, lnQ: Double, z: Double, odds: Double) -> Double {
        let c = a + b + x - 1
        let p = r + x, q = b + x
        var term = 1.0, sum = 1.0, n = 0.0
        for _ in 0..<Hypergeometric.maxTerms {
            let ratio = (p + n) * (q + n) / ((c + n) * (n + 1)) * z
            term *= ratio
            sum += term
            n += 1
            if term == 0 { break }
            let m = max(ratio, z)
            if m < 1 && term * m <= Hypergeometric.tolerance * sum * (1 - m) { break }
        }
        return c / (a - 1) * -expm1(p * lnQ + log(sum)) / (1 + odds)
    }

    /// p_alive, churn_risk and expected purchases of one summary over h weeks.
    public func score(_ s: ChurnSummary, horizonWeeks h: Double) -> Score {
        let odds = deathOdds(s)
        let quiet = quietIfAlive(s, horizonWeeks: h)
        return Score(
            pAlive: 1 / (1 + odds), churnRisk: Self.risk(odds: odds, quiet: quiet),
            expectedPurchases: expectedPurchases(s, horizonWeeks: h, odds: odds))
    }

    // MARK: - When the risk crosses a threshold

    /// The first day `d >= from` (days counted from the first purchase day, like `lastDay`) at
    /// which a customer with `x` repeat days, the last on `lastDay`, has churn_risk >= threshold
    /// if nothing changes; nil if that is not within `limit` days of `from`. The risk only grows
    /// with T (p_alive falls and so does the chance of a purchase within h), so a binary search
    /// over days finds it.
    public func firstDayAtRisk(
        x: Int, lastDay: Int64, from: Int64, threshold: Double, horizonWeeks h: Double, limit: Int64 = 36_500
    ) -> Int64? {
        func risky(_ d: Int64) -> Bool {
            churnRisk(ChurnSummary(x: x, lastDay: lastDay, nowDay: d), horizonWeeks: h) >= threshold
        }
        if risky(from) { return from }
        var low = from, high = from + limit
        guard risky(high) else { return nil }
        // risky(high), !risky(low)
        while high - low > 1 {
            let mid = low + (high - low) / 2
            if risky(mid) { high = mid } else { low = mid }
        }
        return high
    }
}

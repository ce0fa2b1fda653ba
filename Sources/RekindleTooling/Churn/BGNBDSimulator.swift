import Foundation
import RekindleCore

/// Purchase histories drawn from a BG/NBD model with known parameters, to check that a fit
/// recovers them: each customer's rate lambda ~ Gamma(r, alpha) (rate alpha, weeks) and death
/// probability p ~ Beta(a, b); from the first purchase it buys at the times of a Poisson process
/// of rate lambda and, after each repeat purchase, dies with probability p. Customer k's history
/// depends only on the seed and k (SplitMix64 streams).
public struct BGNBDSimulator: Sendable {
    public var model: ChurnModel
    public var seed: UInt64

    public init(model: ChurnModel, seed: UInt64) {
        self.model = model
        self.seed = seed
    }

    /// Customer k's repeat purchase times, in weeks after the first purchase, up to `weeks`.
    public func repeatWeeks(customer k: Int, observedWeeks weeks: Double) -> [Double] {
        var rng = SplitMix64(seed: seed, stream: 0xB6_0BD, index: UInt64(k))
        let lambda = Self.gamma(model.r, &rng) / model.alpha
        let x1 = Self.gamma(model.a, &rng), x2 = Self.gamma(model.b, &rng)
        let p = x1 / (x1 + x2)
        var times: [Double] = []
        var t = 0.0
        while lambda > 0 {
            t += -log1p(-rng.unit()) / lambda
            guard t <= weeks else { break }
            times.append(t)
            if rng.unit() < p { break }
        }
        return times
    }

    /// Customer k's summary in continuous time over `weeks` of observation.
    public func summary(customer k: Int, observedWeeks weeks: Double) -> ChurnSummary {
        let times = repeatWeeks(customer: k, observedWeeks: weeks)
        return ChurnSummary(x: times.count, tx: times.last ?? 0, T: weeks)
    }

    /// Customer k's purchase instants: the first at `first`, the rest at the simulated times
    /// (rounded down to the millisecond), up to `until`.
    public func purchaseInstants(customer k: Int, first: Millis, until: Millis) -> [Millis] {
        let weeks = Double(until - first) / Double(7 * millisPerDay)
        return [first] + repeatWeeks(customer: k, observedWeeks: weeks).map { first + Millis(($0 * Double(7 * millisPerDay)).rounded(.down)) }
    }

    /// Gamma(shape, 1) by Marsaglia and Tsang (2000); a shape below 1 by boosting it by one and
    /// scaling by u^(1/shape).
    static func gamma(_ shape: Double, _ rng: inout SplitMix64) -> Double {
        if shape < 1 {
            let u = 1 - rng.unit()
            return gamma(shape + 1, &rng) * pow(u, 1 / shape)
        }
        let d = shape - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            var x = 0.0, v = 0.0
            repeat {
                x = normal(&rng)
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = 1 - rng.unit()
            if log(u) < 0.5 * x * x + d - d * v + d * log(v) { return d * v }
        }
    }

    /// A standard normal by Box-Muller.
    static func normal(_ rng: inout SplitMix64) -> Double {
        let u1 = 1 - rng.unit(), u2 = rng.unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

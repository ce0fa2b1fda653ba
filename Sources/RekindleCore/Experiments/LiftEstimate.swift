import Foundation

/// A rule's lift from its experiment arms (spec 7.2): the treated and control conversion rates,
/// their difference with a 95% confidence interval by Newcombe's hybrid score method (method 10
/// of Newcombe 1998, "Interval estimation for the difference between independent proportions"),
/// a two-sided p-value from the pooled two-proportion z-test, and the incremental revenue per
/// treated customer.
public struct LiftEstimate: Sendable, Equatable {
    /// Below this many customers in either arm no interval or p-value is given: the normal
    /// approximation behind the z-test, and a marketer's reading of an interval, need more.
    public static let minimumArm = 30
    /// The 97.5% point of the standard normal distribution.
    public static let z = 1.959963984540054

    public let treatedRate: Double
    public let controlRate: Double
    /// `treatedRate - controlRate`.
    public let absolute: Double
    /// `absolute / controlRate`; nil when the control arm converted nobody.
    public let relative: Double?
    /// The 95% interval for `absolute`; nil with too few customers in an arm.
    public let interval: (lower: Double, upper: Double)?
    /// Two-sided; nil with too few customers, or when nobody or everybody converted (no variance).
    public let pValue: Double?
    /// Revenue per treated customer minus revenue per control customer.
    public let incrementalRevenuePerTreated: Double
    /// Why there is no interval, when there is none.
    public let note: String?

    /// Nil when an arm is empty: there is nothing to compare.
    public init?(_ c: LiftCounts) {
        let nt = c.treated.customers, nc = c.control.customers
        guard nt > 0, nc > 0 else { return nil }
        treatedRate = Double(c.treated.converted) / Double(nt)
        controlRate = Double(c.control.converted) / Double(nc)
        absolute = treatedRate - controlRate
        relative = controlRate > 0 ? absolute / controlRate : nil
        incrementalRevenuePerTreated = c.treated.revenue / Double(nt) - c.control.revenue / Double(nc)
        if min(nt, nc) < Self.minimumArm {
            interval = nil
            pValue = nil
            note = "too few customers for an interval (\(nc) control, \(nt) treated; \(Self.minimumArm) each needed)"
        } else {
            interval = Self.newcombe(c.treated.converted, nt, c.control.converted, nc)
            pValue = Self.pooledZTest(c.treated.converted, nt, c.control.converted, nc)
            note = nil
        }
    }

    public static func == (a: LiftEstimate, b: LiftEstimate) -> Bool {
        a.treatedRate == b.treatedRate && a.controlRate == b.controlRate && a.relative == b.relative
            && a.interval?.lower == b.interval?.lower && a.interval?.upper == b.interval?.upper && a.pValue == b.pValue
            && a.incrementalRevenuePerTreated == b.incrementalRevenuePerTreated && a.note == b.note
    }

    /// Wilson's score interval for `x` successes in `n`.
    public static func wilson(_ x: Int, _ n: Int, z: Double = z) -> (lower: Double, upper: Double) {
        let n = Double(n), p = Double(x) / n, z2 = z * z
        let centre = 2 * n * p + z2
        let spread = z * (z2 + 4 * n * p * (1 - p)).squareRoot()
        let denominator = 2 * (n + z2)
        return ((centre - spread) / denominator, (centre + spread) / denominator)
    }

    /// Newcombe's hybrid score interval for `x1/n1 - x2/n2` (method 10).
    public static func newcombe(_ x1: Int, _ n1: Int, _ x2: Int, _ n2: Int, z: Double = z) -> (lower: Double, upper: Double) {
        let p1 = Double(x1) / Double(n1), p2 = Double(x2) / Double(n2)
        let (l1, u1) = wilson(x1, n1, z: z), (l2, u2) = wilson(x2, n2, z: z)
        let d = p1 - p2
        let lower = d - ((p1 - l1) * (p1 - l1) + (u2 - p2) * (u2 - p2)).squareRoot()
        let upper = d + ((u1 - p1) * (u1 - p1) + (p2 - l2) * (p2 - l2)).squareRoot()
        return (lower, upper)
    }

    /// The two-sided p-value of the pooled two-proportion z-test; nil when the pooled share is 0 or 1.
    public static func pooledZTest(_ x1: Int, _ n1: Int, _ x2: Int, _ n2: Int) -> Double? {
        let p = Double(x1 + x2) / Double(n1 + n2)
        guard p > 0 && p < 1 else { return nil }
        let se = (p * (1 - p) * (1 / Double(n1) + 1 / Double(n2))).squareRoot()
        let zScore = (Double(x1) / Double(n1) - Double(x2) / Double(n2)) / se
        return erfc(abs(zScore) / 2.0.squareRoot())
    }
}

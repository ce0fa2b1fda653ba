/// What the BG/NBD model knows of a customer at `T_now` (spec 3.9), in weeks: `x` repeat
/// purchase days, the last of them `tx` weeks after the first purchase day, observed for `T`
/// weeks since that day. A customer without a purchase has no summary.
public struct ChurnSummary: Sendable, Hashable {
    public var x: Int
    public var tx: Double
    public var T: Double

    public init(x: Int, tx: Double, T: Double) {
        self.x = x
        self.tx = tx
        self.T = T
    }

    /// The UTC calendar day of an instant, `floor(t / 86,400,000)` (before 1970 too).
    @inlinable public static func day(_ t: Millis) -> Int64 {
        t >= 0 ? t / millisPerDay : -((-(t + 1)) / millisPerDay) - 1
    }

    /// The summary from whole days: `x` repeat days, the last purchase day and `now`'s day counted
    /// from the first purchase day. Days divided by 7 are weeks.
    public init(x: Int, lastDay: Int64, nowDay: Int64) {
        self.init(x: x, tx: Double(lastDay) / 7, T: Double(nowDay) / 7)
    }

    /// The summary at `now` of a customer's purchase instants (any order; purchases after `now`
    /// do not count yet): nil without a purchase at or before `now`.
    public init?(purchases: some Sequence<Millis>, at now: Millis) {
        var days: [Int64] = []
        for t in purchases where t <= now { days.append(Self.day(t)) }
        guard let first = days.min() else { return nil }
        days.sort()
        var distinct = 0, last = first, previous = first
        for d in days where d != previous {
            distinct += 1
            previous = d
            last = d
        }
        self.init(x: distinct, lastDay: last - first, nowDay: Self.day(now) - first)
    }
}

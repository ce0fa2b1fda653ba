import RekindleCore

/// What `rekindle generate` produces: how many customers over how many days, from which seed.
public struct GeneratorOptions: Sendable {
    public var customers: Int = 2000
    public var days: Int = 120
    /// Start of the stream in epoch milliseconds (default 2026-01-01T00:00:00Z).
    public var start: Int64 = 1_767_225_600_000
    public var seed: UInt64 = 1
    public var products: Int = 500
    /// Share of the output lines that are bad inputs (0 = none; clamped to 0...0.9).
    public var badFraction: Double = 0
    public var popularity = ProductPopularity.category
    /// Share of browsing sessions after which the browser comes back within the week and buys in
    /// the category it browsed (0: browsers never buy but for the odd abandoned checkout).
    public var returningBrowserShare = 0.0
    public init() {}

    /// Whether every time the stream writes (before `start` plus `days`, some in +03:00) has a
    /// four-digit year: past 9999 a time would be written as year 0000 and read back wrong.
    public var endsBeforeYear10000: Bool {
        let (span, spanOverflow) = Int64(days).multipliedReportingOverflow(by: millisPerDay)
        let largestOffset = 3 * millisPerHour
        return !spanOverflow && start.adding(span).adding(largestOffset) <= Timestamp.latest + 1
    }
}

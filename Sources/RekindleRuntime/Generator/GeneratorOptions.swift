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
    public init() {}
}

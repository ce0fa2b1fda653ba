/// SplitMix64 (Steele, Lea and Flood, 2014): small, fast, and fixed by this file alone.
/// The standard library's random APIs may change algorithm between releases, and
/// `SystemRandomNumberGenerator` is not seedable, so the generator and the parser fuzzer (whose
/// failures must replay from their seed alone) use this instead.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// An independent stream for one purpose (`stream`) and one item (`index`) of one seed,
    /// so that each customer's history depends only on the seed and the customer's number.
    public init(seed: UInt64, stream: UInt64, index: UInt64 = 0) {
        state = Self.mix(seed ^ Self.mix(stream &* 0xD6E8_FEB8_6659_FD93 &+ Self.mix(index)))
    }

    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next() -> UInt64 {
        defer { state &+= 0x9E37_79B9_7F4A_7C15 }
        return Self.mix(state)
    }

    /// Uniform in `0..<bound` (Lemire's multiply-high; the bias is below 2^-40 for our bounds).
    public mutating func below(_ bound: Int) -> Int {
        guard bound > 1 else { return 0 }
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Uniform in `range`.
    public mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// Uniform in [0, 1), 53 bits.
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    public mutating func chance(_ probability: Double) -> Bool {
        unit() < probability
    }

    /// Uniform in `[low, high]` milliseconds; `low` when the interval is empty.
    public mutating func millis(_ low: Int64, _ high: Int64) -> Int64 {
        guard high > low else { return low }
        let span = UInt64(high - low) &+ 1
        return low + Int64(bitPattern: next().multipliedFullWidth(by: span).high)
    }

    /// A duration in `[low, high]` skewed toward `low` (u^3), for delays that are usually short.
    public mutating func skewedMillis(_ low: Int64, _ high: Int64) -> Int64 {
        guard high > low else { return low }
        let u = unit()
        return low + Int64(Double(high - low) * u * u * u)
    }

    /// Picks an index by integer weights.
    public mutating func weighted(_ weights: [Int]) -> Int {
        var total = 0
        for w in weights { total += w }
        var pick = below(total)
        for (i, w) in weights.enumerated() {
            if pick < w { return i }
            pick -= w
        }
        return weights.count - 1
    }

    public mutating func pick<T>(_ options: [T]) -> T {
        options[below(options.count)]
    }

    /// Fisher-Yates with `below`, so the order depends on the seed alone.
    public mutating func shuffle<T>(_ list: inout [T]) {
        guard list.count > 1 else { return }
        for i in stride(from: list.count - 1, to: 0, by: -1) {
            list.swapAt(i, below(i + 1))
        }
    }
}

/// SplitMix64 for the parser fuzzer. A private copy rather than the generator's (that one lives in
/// RekindleRuntime, which the core cannot import); the standard library's generators are either
/// unseedable or free to change algorithm, and a fuzz failure must replay from its seed alone.
struct FuzzRandom: Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> UInt64 {
        defer { state &+= 0x9E37_79B9_7F4A_7C15 }
        return Self.mix(state)
    }

    /// Uniform in `0..<bound` (Lemire's multiply-high; the bias is far below anything a fuzzer notices).
    mutating func below(_ bound: Int) -> Int {
        guard bound > 1 else { return 0 }
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    mutating func chance(_ probability: Double) -> Bool {
        Double(next() >> 11) * 0x1p-53 < probability
    }

    mutating func pick<T>(_ options: [T]) -> T {
        options[below(options.count)]
    }

    mutating func shuffle<T>(_ list: inout [T]) {
        guard list.count > 1 else { return }
        for i in stride(from: list.count - 1, to: 0, by: -1) {
            list.swapAt(i, below(i + 1))
        }
    }
}

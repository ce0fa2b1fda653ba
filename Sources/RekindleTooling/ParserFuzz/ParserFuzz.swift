import RekindleCore

/// A seeded, deterministic differential fuzzer for `EventDecoder`.
///
/// It builds input lines (valid events of every kind, spelled in many legal ways, and mutations of
/// them, most of which are invalid) and checks that the fast path can never change an answer:
/// whatever `EventScanner.scan` accepts, the reference path accepts as the same event, and
/// `decode(bytes:)` returns exactly what `decodeReference(bytes:)` returns, for every `expecting:`
/// topic. Lines built valid also carry an oracle (the event they must decode to, numbers compared
/// bit for bit against `Double(String(literal))`), so a change shared by both paths, such as a
/// faster number conversion in `JSONParser`, is held to the spelling in the line and not only to
/// itself.
///
/// The same seed gives the same lines on every platform and release: a failure names its seed
/// and line number, and `ParserFuzz(seed:)` plus that many `nextLine()` calls replays it.
public struct ParserFuzz: Sendable {
    /// What is known about a line independently of both decoder paths.
    public enum Oracle: Sendable {
        /// Nothing: only the two paths are compared.
        case unknown
        /// Valid by construction (a hand-written seed, or one respelled without changing it):
        /// the reference path must accept it.
        case valid
        /// Built from this event: both paths must decode it to exactly this, doubles bit for bit.
        case exactly(Event)
    }

    var rng: SplitMix64
    /// The oracle of the line the last `nextLine()` returned.
    public private(set) var lastOracle: Oracle = .unknown

    public init(seed: UInt64) {
        // Mixed, so that neighbouring seeds (1, 2, 3 in a test) start far apart.
        rng = SplitMix64(seed: SplitMix64.mix(seed ^ 0x5EED_F022))
    }

    /// The next line: about a third exactly as built, a sixth respelled in ways that keep the
    /// event, the rest damaged by one to four structural or byte mutations.
    public mutating func nextLine() -> [UInt8] {
        var draft = rng.chance(0.8) ? generatedDraft() : corpusDraft()
        let roll = rng.int(0...99)
        var line: [UInt8]
        if roll < 35 {
            line = render(draft)
        } else if roll < 52 {
            for _ in 0..<rng.int(1...2) { respell(&draft) }
            line = render(draft)
        } else {
            // At least one mutation; structural ones first, since they need the member layout.
            let structural = rng.int(0...2)
            let bytewise = structural == 0 ? rng.int(1...2) : rng.int(0...2)
            for _ in 0..<structural { damage(&draft) }
            line = render(draft)
            if bytewise > 0 {
                draft.oracle = .unknown
                for _ in 0..<bytewise { damage(&line) }
            }
        }
        lastOracle = draft.oracle
        return line
    }

    // MARK: - Checking

    /// What one line did: whether the reference path accepted it, whether the fast scanner did,
    /// and the disagreements, if any.
    public struct Verdict: Sendable {
        public var accepted: Bool
        public var fastAccepted: Bool
        public var failure: String?
    }

    /// A description of every disagreement about `line`, or nil when the paths agree.
    public static func check(_ line: [UInt8]) -> String? {
        verify(line, oracle: .unknown).failure
    }

    /// The same, and the reference path must also meet the oracle.
    public static func check(_ line: [UInt8], oracle: Oracle) -> String? {
        verify(line, oracle: oracle).failure
    }

    public static func verify(_ line: [UInt8], oracle: Oracle = .unknown) -> Verdict {
        line.withUnsafeBufferPointer { buf in
            let reference = EventDecoder.decodeReference(bytes: buf)
            let fast = EventScanner.scan(buf)
            var problems: [String] = []
            if let fast {
                if case .success(let r) = reference, identical(fast, r) {
                } else {
                    problems.append("EventScanner.scan accepted \(describe(fast)), decodeReference gave \(describe(reference))")
                }
            }
            for topic in [nil] + Topic.allCases.map(Optional.some) {
                let production = EventDecoder.decode(bytes: buf, expecting: topic)
                let ref = topic == nil ? reference : EventDecoder.decodeReference(bytes: buf, expecting: topic)
                if !same(production, ref) {
                    let label = topic.map { "expecting: .\($0)" } ?? "expecting: nil"
                    problems.append("\(label): decode gave \(describe(production)), decodeReference gave \(describe(ref))")
                }
            }
            switch oracle {
            case .unknown: break
            case .valid:
                if case .failure(let e) = reference {
                    problems.append("a line valid by construction was rejected by decodeReference: \(e.kind.rawValue): \(e.reason)")
                }
            case .exactly(let expected):
                if case .success(let r) = reference, identical(expected, r) {
                } else {
                    problems.append("built from \(describe(expected)), decodeReference gave \(describe(reference))")
                }
            }
            var failure: String?
            if !problems.isEmpty {
                failure = "line \(printable(line)):\n" + problems.map { "    - " + $0 }.joined(separator: "\n")
            }
            let accepted: Bool
            if case .success = reference { accepted = true } else { accepted = false }
            return Verdict(accepted: accepted, fastAccepted: fast != nil, failure: failure)
        }
    }

    /// Checks `iterations` lines of one seed. Keeps the first ten failures (each names the seed and
    /// line number) and, past that, one line saying how many more there were.
    public static func run(seed: UInt64, iterations: Int)
        -> (lines: Int, accepted: Int, rejected: Int, fastAccepted: Int, failures: [String])
    {
        var fuzz = ParserFuzz(seed: seed)
        var accepted = 0, fastAccepted = 0, failed = 0
        var failures: [String] = []
        for n in 0..<iterations {
            let line = fuzz.nextLine()
            let verdict = verify(line, oracle: fuzz.lastOracle)
            if verdict.accepted { accepted += 1 }
            if verdict.fastAccepted { fastAccepted += 1 }
            if let failure = verdict.failure {
                failed += 1
                if failures.count < 10 { failures.append("seed \(seed) line \(n): \(failure)") }
            }
        }
        if failed > failures.count { failures.append("seed \(seed): \(failed - failures.count) more disagreements not shown") }
        return (iterations, accepted, iterations - accepted, fastAccepted, failures)
    }

    // MARK: - Comparing and describing

    /// Event equality plus equal bit patterns of every double: `==` holds 0.0 and -0.0 equal, and
    /// a fast number conversion that loses the sign of zero must not pass for a correct one.
    static func identical(_ a: Event, _ b: Event) -> Bool {
        a == b && doubleBits(a) == doubleBits(b)
    }

    static func doubleBits(_ e: Event) -> [UInt64?] {
        switch e.body {
        case .order(let o): return [o.total.bitPattern] + o.items.map { $0.price?.bitPattern }
        case .productView(let v): return [v.price?.bitPattern]
        case .email, .consent, .erasure: return []
        }
    }

    static func same(_ a: Result<Event, InputError>, _ b: Result<Event, InputError>) -> Bool {
        switch (a, b) {
        case (.success(let x), .success(let y)): return identical(x, y)
        case (.failure(let x), .failure(let y)): return x == y
        default: return false
        }
    }

    static func describe(_ r: Result<Event, InputError>) -> String {
        switch r {
        case .success(let e): return "success(\(describe(e)))"
        case .failure(let e): return "failure(\(e.kind.rawValue): \(e.reason))"
        }
    }

    /// The derived description, which prints -0.0 and every digit a double needs.
    static func describe(_ e: Event) -> String { String(describing: e) }

    /// A line as a raw Swift string literal, ready to paste into a test, when it is clean UTF-8
    /// without control characters; otherwise as a byte array literal plus a lossy readable form.
    /// Fuzzed lines stay far below the cut; a line given to `check` may not (seed and line number
    /// replay a fuzzed line exactly in any case).
    static func printable(_ line: [UInt8]) -> String {
        if line.count > 8192 { return "of \(line.count) bytes, starting " + printable(Array(line.prefix(2048))) }
        if let s = String(validating: line, as: UTF8.self),
            !s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        {
            // Enough #s that neither a quote nor a backslash followed by them occurs in the text.
            var hashes = "#"
            while s.contains("\"" + hashes) || s.contains("\\" + hashes) { hashes += "#" }
            return hashes + "\"" + s + "\"" + hashes
        }
        let digits: [Character] = Array("0123456789abcdef")
        let bytes = line.map { "0x" + String(digits[Int($0 >> 4)]) + String(digits[Int($0 & 15)]) }
        return "[" + bytes.joined(separator: ", ") + "] (as text: "
            + String(decoding: line, as: UTF8.self).debugDescription + ")"
    }
}

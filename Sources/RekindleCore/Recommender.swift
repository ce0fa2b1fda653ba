import CRekindleScoring

/// Item-to-item recommendations learned from the stream itself (spec 3.6): products viewed by one
/// customer within the co-view window of each other, or bought in one order, count as occurring
/// together; candidates are scored by cosine similarity `co(a,b) / sqrt(count(a) x count(b))`,
/// summed over the seed products in their order, and ranked by score then product id.
///
/// With a bound (`maxNeighbours` > 0), a seed contributes only its `maxNeighbours` strongest
/// neighbours (co-occurrence count descending, then product id by bytes), so that a firing costs
/// the same however many products a best-seller co-occurs with. Every count is still kept: the
/// strongest are a function of the counts, maintained as they rise (`Neighbours.promote`, a heap
/// of the K strongest) and recomputed after a restore (`rebuildStrongest`), so snapshots hold
/// the counts only.
public struct Recommender: Sendable {
    /// Neighbours a seed scores with (0: all of them).
    public let maxNeighbours: Int
    /// Occurrences of each product (a view episode or an order), by product index.
    var counts: [Int32] = []
    /// Co-occurrence counts, symmetric, by product index.
    var neighbors: [Neighbours] = []

    /// One product's co-occurring products: contiguous arrays that `recommend` scans (iterating a
    /// dictionary per seed was the largest single cost of the fold), and a dictionary only to find
    /// a neighbour's slot when a pair is counted.
    struct Neighbours: Sendable {
        var ids: [Int32] = []
        var counts: [Int32] = []
        var slot = SlotTable()
        /// With a bound K, once there are more than K neighbours: the slots of the K strongest,
        /// as a binary min-heap (the weakest at the root). Empty while every neighbour is kept.
        var strongest: [Int32] = []
        /// Each slot's index in `strongest`, -1 when it is not there (empty while `strongest` is).
        var place: [Int32] = []

        /// Counts `n` more co-occurrences with `q`; returns `q`'s slot.
        @discardableResult
        mutating func add(_ q: Int32, _ n: Int32 = 1) -> Int32 {
            if let k = slot[q] {
                counts[Int(k)] += n
                return k
            }
            let k = Int32(ids.count)
            slot.insert(q, k)
            ids.append(q)
            counts.append(n)
            return k
        }

        /// (neighbour, count) by neighbour index: the snapshot's order.
        var sorted: [(Int32, Int32)] { zip(ids, counts).sorted { $0.0 < $1.0 } }

        /// Whether slot `a` is stronger than slot `b`: more co-occurrences, or as many and a
        /// product id that sorts first by bytes (a total order: ids are distinct).
        func stronger(_ a: Int32, _ b: Int32, _ names: [String]) -> Bool {
            let ca = counts[Int(a)], cb = counts[Int(b)]
            return ca != cb ? ca > cb : RuleSet.byteLess(names[Int(ids[Int(a)])], names[Int(ids[Int(b)])])
        }

        /// Keeps `strongest` the `bound` strongest slots after slot `s`'s count rose (or `s` is
        /// new). Counts only rise, so only `s` can enter or move: a kept `s` sinks in the heap; any
        /// other takes the weakest's place if it now beats it. O(log K) comparisons.
        mutating func promote(_ s: Int32, bound: Int, _ names: [String]) {
            guard ids.count > bound else { return }
            guard !strongest.isEmpty else { return keepStrongest(bound, names) }
            if place.count < ids.count { place.append(contentsOf: repeatElement(-1, count: ids.count - place.count)) }
            let at = place[Int(s)]
            if at >= 0 { return sink(Int(at), names) }
            guard stronger(s, strongest[0], names) else { return }
            place[Int(strongest[0])] = -1
            strongest[0] = s
            sink(0, names)
        }

        /// Moves the slot at heap index `i`, now stronger, below every weaker one.
        private mutating func sink(_ i: Int, _ names: [String]) {
            let s = strongest[i]
            var i = i
            while 2 * i + 1 < strongest.count {
                var child = 2 * i + 1
                if child + 1 < strongest.count && stronger(strongest[child], strongest[child + 1], names) { child += 1 }
                guard stronger(s, strongest[child], names) else { break }
                strongest[i] = strongest[child]
                place[Int(strongest[i])] = Int32(i)
                i = child
            }
            strongest[i] = s
            place[Int(s)] = Int32(i)
        }

        /// `strongest` from the counts alone: every slot sorted, the `bound` strongest kept
        /// (weakest first, which is a heap); nothing while there are at most `bound`.
        mutating func keepStrongest(_ bound: Int, _ names: [String]) {
            guard ids.count > bound else {
                strongest = []
                place = []
                return
            }
            strongest = Array(ids.indices.map { Int32($0) }.sorted { stronger($0, $1, names) }.prefix(bound).reversed())
            place = [Int32](repeating: -1, count: ids.count)
            for (i, s) in strongest.enumerated() { place[Int(s)] = Int32(i) }
        }
    }

    public init(maxNeighbours: Int = 0) {
        self.maxNeighbours = max(0, maxNeighbours)
    }

    mutating func ensure(_ p: Int32) {
        while counts.count <= Int(p) {
            counts.append(0)
            neighbors.append(Neighbours())
        }
    }

    mutating func addOccurrence(_ p: Int32) {
        ensure(p)
        counts[Int(p)] += 1
    }

    /// Counts one co-occurrence of `a` and `b`; `names` are the product ids by index (the bound's
    /// tie-break).
    mutating func addPair(_ a: Int32, _ b: Int32, names: [String]) {
        guard a != b else { return }
        ensure(max(a, b))
        let sa = neighbors[Int(a)].add(b), sb = neighbors[Int(b)].add(a)
        guard maxNeighbours > 0 else { return }
        neighbors[Int(a)].promote(sa, bound: maxNeighbours, names)
        neighbors[Int(b)].promote(sb, bound: maxNeighbours, names)
    }

    /// Records one basket (the distinct products of an order, in order of appearance).
    mutating func addBasket(_ products: [Int32], names: [String]) {
        for (i, p) in products.enumerated() {
            addOccurrence(p)
            for q in products[..<i] { addPair(p, q, names: names) }
        }
    }

    /// Recomputes every product's strongest neighbours from the counts, as a restore must: the
    /// snapshot holds counts only, and the bound may have changed with the rules.
    mutating func rebuildStrongest(names: [String]) {
        guard maxNeighbours > 0 else { return }
        for p in neighbors.indices { neighbors[p].keepStrongest(maxNeighbours, names) }
    }

    /// Scorings (calls of `recommend`) and the neighbours they walked: the work of a firing,
    /// which the bound caps (a statistic for benchmarks; not in snapshots).
    private(set) var scoring = (calls: 0, neighbours: 0)

    /// Per-product scratch for `recommend`: each product's score, and its mark (0 untouched,
    /// 1 scored, 2 excluded, 3 excluded and scored), and the products scored, in the order they
    /// were met (one place more than there are products: a place is written before it is known
    /// to be taken). Dense arrays instead of a dictionary and a set: profiling showed hashing
    /// dominated. Marks apart from scores: a byte a product is read for every neighbour walked,
    /// and the scores' 8 bytes only when one is added to (16-byte entries of both missed the
    /// cache more often).
    private var scores: [Double] = []
    private var marks: [UInt8] = []
    private var scratchTouched: [Int32] = []
    /// One seed's terms, by neighbour: scratch for `recommend`, kept to save an allocation a seed.
    private var terms: [Double] = []

    /// Up to `limit` products most similar to `seeds`, none of them in `excluded` or `seeds`.
    /// `excluded` may repeat a product (marking is idempotent): callers pass lists, not a Set.
    ///
    /// The walk and the ranking run over unsafe buffers, and the candidates met are ranked and
    /// unmarked in one pass: with exact scoring (the default) a seed walks every product it
    /// co-occurred with (about 1,600 per scoring on zipf), and the array accesses' checks, the
    /// appends and the passes over the candidates were most of `recommend`'s samples.
    mutating func recommend(seeds: [Int32], excluded: [Int32], limit: Int, names: [String]) -> [String] {
        guard limit > 0 else { return [] }
        let n = counts.count
        if scores.count < n {
            scores.append(contentsOf: repeatElement(0, count: n - scores.count))
            marks.append(contentsOf: repeatElement(0, count: n - marks.count))
            scratchTouched.append(contentsOf: repeatElement(0, count: n + 1 - scratchTouched.count))
        }
        scoring.calls += 1
        var met = 0
        var best: [(key: Int32, value: Double)] = []
        best.reserveCapacity(limit + 1)
        // Keep the best `limit` by (score desc, product id asc): a total order, so the result does
        // not depend on the order in which candidates were met.
        func better(_ a: (key: Int32, value: Double), _ b: (key: Int32, value: Double)) -> Bool {
            a.value != b.value ? a.value > b.value : RuleSet.byteLess(names[Int(a.key)], names[Int(b.key)])
        }
        scores.withUnsafeMutableBufferPointer { scores in
            marks.withUnsafeMutableBufferPointer { marks in
                for e in excluded where Int(e) < n { marks[Int(e)] = 2 }
                for e in seeds where Int(e) < n { marks[Int(e)] = 2 }
                scratchTouched.withUnsafeMutableBufferPointer { touched in
                    let sc = scores.baseAddress!, mk = marks.baseAddress!, met0 = touched.baseAddress!
                    for s in seeds where Int(s) < n && counts[Int(s)] > 0 {
                        let cs = Double(counts[Int(s)])
                        let near = neighbors[Int(s)]
                        let m = near.strongest.isEmpty ? near.ids.count : near.strongest.count
                        scoring.neighbours += m
                        guard m > 0 else { continue }
                        if terms.count < m { terms.append(contentsOf: repeatElement(0, count: m - terms.count)) }
                        terms.withUnsafeMutableBufferPointer { terms in
                            counts.withUnsafeBufferPointer { counts in
                                near.ids.withUnsafeBufferPointer { ids in
                                    near.counts.withUnsafeBufferPointer { co in
                                        // The terms first, vectorised in C (`rekindle_cosine_terms`:
                                        // four square roots and divisions an instruction with
                                        // AVX2), where the Swift loop took one at a time; marked
                                        // candidates' terms are computed and not used. Each term
                                        // is the same operations on the same values as the Swift
                                        // expression `Double(co[j]) / (cs * Double(counts[k])).squareRoot()`,
                                        // so the same bits: IEEE square root and division are
                                        // correctly rounded, lane by lane.
                                        if near.strongest.isEmpty {
                                            rekindle_cosine_terms(terms.baseAddress!, m, cs, co.baseAddress!, ids.baseAddress!, counts.baseAddress!, nil)
                                        } else {
                                            near.strongest.withUnsafeBufferPointer { strongest in
                                                rekindle_cosine_terms(
                                                    terms.baseAddress!, m, cs, co.baseAddress!, ids.baseAddress!, counts.baseAddress!,
                                                    strongest.baseAddress!)
                                            }
                                        }
                                        // Then each term added to its candidate's score, without a
                                        // branch on the mark (whether a candidate is met for the
                                        // first time is a coin toss the predictor lost): every
                                        // candidate's id is written at the end of the list, which
                                        // grows only for a first meeting; an excluded product's
                                        // score grows too and is reset with its mark. A score
                                        // starts at 0 and takes its terms in the seeds' order, then
                                        // the neighbours', as before: the same sums.
                                        @inline(__always) func add(_ q: Int32, _ term: Double) {
                                            let k = Int(q)
                                            let mark = mk[k]
                                            met0[met] = q
                                            met &+= mark == 0 ? 1 : 0
                                            mk[k] = mark | 1
                                            sc[k] += term
                                        }
                                        if near.strongest.isEmpty {
                                            for j in 0..<m { add(ids[j], terms[j]) }
                                        } else {
                                            for i in 0..<m { add(ids[Int(near.strongest[i])], terms[i]) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    // Once `best` is full, a candidate scoring below its last is not better than
                    // it (`better`): skipped on a comparison with a local copy of that score,
                    // without reading `best` (most candidates are; reading the array for each
                    // was a third of the ranking's samples).
                    var floor = -Double.infinity
                    for i in 0..<met {
                        let q = touched[i]
                        marks[Int(q)] = 0
                        let candidate = (key: q, value: scores[Int(q)])
                        scores[Int(q)] = 0
                        if candidate.value < floor { continue }
                        if best.count == limit, let last = best.last, !better(candidate, last) { continue }
                        let at = best.firstIndex { better(candidate, $0) } ?? best.count
                        best.insert(candidate, at: at)
                        if best.count > limit { best.removeLast() }
                        if best.count == limit { floor = best[limit - 1].value }
                    }
                }
                for e in excluded where Int(e) < n {
                    marks[Int(e)] = 0
                    scores[Int(e)] = 0
                }
                for e in seeds where Int(e) < n {
                    marks[Int(e)] = 0
                    scores[Int(e)] = 0
                }
            }
        }
        return best.map { names[Int($0.key)] }
    }
}

/// A neighbour's slot by product index, for `Neighbours.add` (every co-occurrence counted looks
/// one up): open addressing with linear probing, each entry its key and value in one word, so a
/// lookup reads one cache line and hashes with a multiplication. It replaced a `[Int32: Int32]`,
/// whose SipHash and separate key and value arrays were most of `add`'s samples in the fold.
/// At most three quarters full (as a Swift dictionary), so it takes about the memory one took.
struct SlotTable: Sendable {
    /// `key << 32 | value` as bits; `empty` (key and value -1: no product index) is a free place.
    private var entries: [UInt64] = []
    private var shift = 64
    private(set) var count = 0
    private static var empty: UInt64 { .max }

    /// Where the probe for `key` starts: Fibonacci hashing, the product's top bits.
    @inline(__always)
    private static func start(_ key: Int32, _ shift: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(UInt32(bitPattern: key)) &* 0x9E37_79B9_7F4A_7C15) >> UInt64(shift))
    }

    subscript(key: Int32) -> Int32? {
        guard count > 0 else { return nil }
        return entries.withUnsafeBufferPointer { e in
            let mask = e.count - 1
            var i = Self.start(key, shift)
            while true {
                let x = e[i]
                if x == Self.empty { return nil }
                if UInt32(truncatingIfNeeded: x >> 32) == UInt32(bitPattern: key) { return Int32(truncatingIfNeeded: x) }
                i = (i + 1) & mask
            }
        }
    }

    /// Adds `key`, which is not in the table, with `value`.
    mutating func insert(_ key: Int32, _ value: Int32) {
        if (count + 1) * 4 > entries.count * 3 { grow() }
        Self.place(key, value, in: &entries, shift)
        count += 1
    }

    private static func place(_ key: Int32, _ value: Int32, in entries: inout [UInt64], _ shift: Int) {
        entries.withUnsafeMutableBufferPointer { e in
            let mask = e.count - 1
            var i = start(key, shift)
            while e[i] != empty { i = (i + 1) & mask }
            e[i] = UInt64(UInt32(bitPattern: key)) << 32 | UInt64(UInt32(bitPattern: value))
        }
    }

    /// Doubles the places (4 at first) and puts every entry back.
    private mutating func grow() {
        let size = max(4, entries.count * 2)
        let old = entries
        entries = Array(repeating: Self.empty, count: size)
        shift = 64 - size.trailingZeroBitCount
        for x in old where x != Self.empty {
            Self.place(Int32(truncatingIfNeeded: x >> 32), Int32(truncatingIfNeeded: x), in: &entries, shift)
        }
    }
}

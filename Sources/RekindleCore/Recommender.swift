/// Item-to-item recommendations learned from the stream itself (spec 3.6): products viewed by one
/// customer within the co-view window of each other, or bought in one order, count as occurring
/// together; candidates are scored by cosine similarity `co(a,b) / sqrt(count(a) x count(b))`,
/// summed over the seed products in their order, and ranked by score then product id.
public struct Recommender: Sendable {
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
        var slot: [Int32: Int32] = [:]

        mutating func add(_ q: Int32, _ n: Int32 = 1) {
            if let k = slot[q] {
                counts[Int(k)] += n
            } else {
                slot[q] = Int32(ids.count)
                ids.append(q)
                counts.append(n)
            }
        }

        /// (neighbour, count) by neighbour index: the snapshot's order.
        var sorted: [(Int32, Int32)] { zip(ids, counts).sorted { $0.0 < $1.0 } }
    }

    public init() {}

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

    mutating func addPair(_ a: Int32, _ b: Int32) {
        guard a != b else { return }
        ensure(max(a, b))
        neighbors[Int(a)].add(b)
        neighbors[Int(b)].add(a)
    }

    /// Records one basket (the distinct products of an order, in order of appearance).
    mutating func addBasket(_ products: [Int32]) {
        for (i, p) in products.enumerated() {
            addOccurrence(p)
            for q in products[..<i] { addPair(p, q) }
        }
    }

    /// Per-product scratch for `recommend`: scores, and marks (0 untouched, 1 scored, 2 excluded).
    /// Dense arrays instead of a dictionary and a set: profiling showed hashing dominated.
    private var scratchScores: [Double] = []
    private var scratchMarks: [UInt8] = []

    /// Up to `limit` products most similar to `seeds`, none of them in `excluded` or `seeds`.
    /// `excluded` may repeat a product (marking is idempotent): callers pass lists, not a Set.
    mutating func recommend(seeds: [Int32], excluded: [Int32], limit: Int, names: [String]) -> [String] {
        guard limit > 0 else { return [] }
        if scratchMarks.count < counts.count {
            scratchMarks.append(contentsOf: repeatElement(0, count: counts.count - scratchMarks.count))
            scratchScores.append(contentsOf: repeatElement(0, count: counts.count - scratchScores.count))
        }
        let n = counts.count
        for e in excluded where Int(e) < n { scratchMarks[Int(e)] = 2 }
        for e in seeds where Int(e) < n { scratchMarks[Int(e)] = 2 }
        var touched: [Int32] = []
        for s in seeds where Int(s) < n && counts[Int(s)] > 0 {
            let cs = Double(counts[Int(s)])
            let near = neighbors[Int(s)]
            for j in near.ids.indices {
                let q = near.ids[j], c = near.counts[j]
                let k = Int(q)
                let mark = scratchMarks[k]
                if mark == 2 { continue }
                if mark == 0 {
                    scratchMarks[k] = 1
                    scratchScores[k] = 0
                    touched.append(q)
                }
                scratchScores[k] += Double(c) / (cs * Double(counts[k])).squareRoot()
            }
        }
        let scores = touched.map { (key: $0, value: scratchScores[Int($0)]) }
        for q in touched { scratchMarks[Int(q)] = 0 }
        for e in excluded where Int(e) < n { scratchMarks[Int(e)] = 0 }
        for e in seeds where Int(e) < n { scratchMarks[Int(e)] = 0 }
        // Keep the best `limit` by (score desc, product id asc): a total order, so the result does
        // not depend on the dictionary's per-process iteration order.
        func better(_ a: (key: Int32, value: Double), _ b: (key: Int32, value: Double)) -> Bool {
            a.value != b.value ? a.value > b.value : RuleSet.byteLess(names[Int(a.key)], names[Int(b.key)])
        }
        var best: [(key: Int32, value: Double)] = []
        best.reserveCapacity(limit + 1)
        for candidate in scores {
            if best.count == limit, let last = best.last, !better(candidate, last) { continue }
            let at = best.firstIndex { better(candidate, $0) } ?? best.count
            best.insert(candidate, at: at)
            if best.count > limit { best.removeLast() }
        }
        return best.map { names[Int($0.key)] }
    }
}

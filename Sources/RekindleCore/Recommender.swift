/// Item-to-item recommendations learned from the stream itself (spec 3.6): products viewed by one
/// customer within the co-view window of each other, or bought in one order, count as occurring
/// together; candidates are scored by cosine similarity `co(a,b) / sqrt(count(a) x count(b))`,
/// summed over the seed products in their order, and ranked by score then product id.
public struct Recommender: Sendable {
    /// Occurrences of each product (a view episode or an order), by product index.
    var counts: [Int32] = []
    /// Co-occurrence counts, symmetric, by product index.
    var neighbors: [[Int32: Int32]] = []

    public init() {}

    mutating func ensure(_ p: Int32) {
        while counts.count <= Int(p) {
            counts.append(0)
            neighbors.append([:])
        }
    }

    mutating func addOccurrence(_ p: Int32) {
        ensure(p)
        counts[Int(p)] += 1
    }

    mutating func addPair(_ a: Int32, _ b: Int32) {
        guard a != b else { return }
        ensure(max(a, b))
        neighbors[Int(a)][b, default: 0] += 1
        neighbors[Int(b)][a, default: 0] += 1
    }

    /// Records one basket (the distinct products of an order, in order of appearance).
    mutating func addBasket(_ products: [Int32]) {
        for (i, p) in products.enumerated() {
            addOccurrence(p)
            for q in products[..<i] { addPair(p, q) }
        }
    }

    /// Up to `limit` products most similar to `seeds`, none of them in `excluded` or `seeds`.
    func recommend(seeds: [Int32], excluded: Set<Int32>, limit: Int, names: [String]) -> [String] {
        guard limit > 0 else { return [] }
        var scores: [Int32: Double] = [:]
        for s in seeds where Int(s) < counts.count && counts[Int(s)] > 0 {
            let cs = Double(counts[Int(s)])
            for (q, c) in neighbors[Int(s)] where !excluded.contains(q) && !seeds.contains(q) {
                scores[q, default: 0] += Double(c) / (cs * Double(counts[Int(q)])).squareRoot()
            }
        }
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

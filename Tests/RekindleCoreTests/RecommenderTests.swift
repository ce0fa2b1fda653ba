@testable import RekindleCore
import RekindleTooling
import Testing

/// Spec 3.6's bounded neighbours: with `max_neighbours` K, a seed scores with its K strongest
/// neighbours (co-occurrence count descending, ties by product id by bytes), exactly as if all
/// its neighbours were sorted and the first K taken when it is scored; 0 scores with all.
@Suite struct RecommenderTests {
    /// Co-occurrence counts kept the plain way, for the brute-force references below.
    struct Reference {
        var counts: [Int32: Int32] = [:]
        var pairs: [Int32: [Int32: Int32]] = [:]

        mutating func occur(_ p: Int32) { counts[p, default: 0] += 1 }

        mutating func pair(_ a: Int32, _ b: Int32) {
            guard a != b else { return }
            pairs[a, default: [:]][b, default: 0] += 1
            pairs[b, default: [:]][a, default: 0] += 1
        }

        /// Every neighbour of `p` sorted by (count desc, id by bytes), the first `k` (all for 0).
        func strongest(_ p: Int32, _ k: Int, _ names: [String]) -> [Int32] {
            let all = (pairs[p] ?? [:]).sorted { a, b in
                a.value != b.value ? a.value > b.value : Array(names[Int(a.key)].utf8).lexicographicallyPrecedes(names[Int(b.key)].utf8)
            }.map(\.key)
            return k == 0 ? all : Array(all.prefix(k))
        }

        /// Cosine scores summed over the seeds' (first `k`) neighbours, ranked by score then id.
        func recommend(seeds: [Int32], excluded: [Int32], limit: Int, k: Int, _ names: [String]) -> [String] {
            var scores: [Int32: Double] = [:]
            for s in seeds where (counts[s] ?? 0) > 0 {
                for q in strongest(s, k, names) where !seeds.contains(q) && !excluded.contains(q) {
                    let c = Double(pairs[s]![q]!)
                    scores[q, default: 0] += c / (Double(counts[s]!) * Double(counts[q]!)).squareRoot()
                }
            }
            return scores.sorted { a, b in
                a.value != b.value ? a.value > b.value : Array(names[Int(a.key)].utf8).lexicographicallyPrecedes(names[Int(b.key)].utf8)
            }.prefix(limit).map { names[Int($0.key)] }
        }
    }

    /// The neighbours a seed scores with, strongest first; checks the heap's bookkeeping on the way.
    static func kept(_ near: Recommender.Neighbours, bound: Int, _ names: [String]) -> [Int32] {
        guard !near.strongest.isEmpty else {
            #expect(bound == 0 || near.ids.count <= bound)
            return near.ids.indices.sorted { near.stronger(Int32($0), Int32($1), names) }.map { near.ids[$0] }
        }
        #expect(near.strongest.count == bound && near.ids.count > bound)
        for (i, s) in near.strongest.enumerated() {
            #expect(near.place[Int(s)] == Int32(i))
            if i > 0 { #expect(near.stronger(s, near.strongest[(i - 1) / 2], names), "a heap: the weaker above") }
        }
        #expect(near.place.count { $0 >= 0 } == bound)
        return near.strongest.sorted { near.stronger($0, $1, names) }.map { near.ids[Int($0)] }
    }

    /// Product ids whose byte order is not their index order: lengths differ, upper case sorts
    /// before lower, and a multi-byte letter after both.
    static func names(_ n: Int, _ rng: inout SplitMix64) -> [String] {
        let stems = ["p", "P", "é", "q", "p1", "Ω"]
        return (0..<n).map { "\(stems[rng.below(stems.count)])\(rng.below(40))-\($0)" }
    }

    /// Feeds the same random stream of occurrences, pairs and baskets to a model and a reference;
    /// a few products take most of the pairs (as best-sellers do), and counts tie often.
    static func randomStream(seed: UInt64, bound: Int, steps: Int, check: (Recommender, Reference, [String]) -> Void) {
        var rng = SplitMix64(seed: seed)
        let n = 6 + rng.below(40)
        let names = names(n, &rng)
        var model = Recommender(maxNeighbours: bound)
        var reference = Reference()
        func product() -> Int32 { Int32(rng.chance(0.4) ? rng.below(3) : rng.below(n)) }
        for step in 0..<steps {
            switch rng.below(10) {
            case 0:
                var basket: [Int32] = []
                for _ in 0..<(1 + rng.below(4)) {
                    let p = product()
                    if !basket.contains(p) { basket.append(p) }
                }
                model.addBasket(basket, names: names)
                for (i, p) in basket.enumerated() {
                    reference.occur(p)
                    for q in basket[..<i] { reference.pair(p, q) }
                }
            case 1, 2, 3:
                let p = product()
                model.addOccurrence(p)
                reference.occur(p)
            default:
                // A view episode: the product occurs and pairs with one viewed before it.
                let a = product(), b = product()
                model.addOccurrence(a)
                reference.occur(a)
                if (reference.counts[b] ?? 0) > 0 {
                    model.addPair(a, b, names: names)
                    reference.pair(a, b)
                }
            }
            if step % 37 == 0 || step == steps - 1 { check(model, reference, names) }
        }
    }

    @Test(arguments: [1, 2, 3, 5, 8, 50])
    func theKeptNeighboursAreTheFirstKOfAllNeighboursSorted(bound: Int) {
        for seed in UInt64(1)...40 {
            Self.randomStream(seed: seed, bound: bound, steps: 400) { model, reference, names in
                for p in model.neighbors.indices {
                    #expect(
                        Self.kept(model.neighbors[p], bound: bound, names) == reference.strongest(Int32(p), bound, names),
                        "seed \(seed), bound \(bound), product \(names[p])")
                }
            }
        }
    }

    @Test(arguments: [0, 1, 2, 4, 10])
    func recommendationsScoreOnlyTheKeptNeighbours(bound: Int) {
        for seed in UInt64(1)...40 {
            Self.randomStream(seed: seed, bound: bound, steps: 300) { model, reference, names in
                var model = model
                var rng = SplitMix64(seed: seed &+ 1000)
                for _ in 0..<5 {
                    let seeds = (0..<(1 + rng.below(3))).map { _ in Int32(rng.below(names.count)) }
                    let excluded = (0..<rng.below(3)).map { _ in Int32(rng.below(names.count)) }
                    let limit = rng.below(7)
                    #expect(
                        model.recommend(seeds: seeds, excluded: excluded, limit: limit, names: names)
                            == reference.recommend(seeds: seeds, excluded: excluded, limit: limit, k: bound, names),
                        "seed \(seed), bound \(bound), seeds \(seeds), excluded \(excluded)")
                }
            }
        }
    }

    @Test func tiesGoToTheProductIdThatSortsFirstByBytes() {
        let names = ["a", "b", "B", "é", "c", "a2"]
        var model = Recommender(maxNeighbours: 2)
        // Every neighbour of a once: by bytes B (0x42) < a2 < b < c < é (0xC3 0xA9).
        for q in [3, 4, 1, 5, 2] { model.addPair(0, Int32(q), names: names) }
        func kept() -> [String] { Self.kept(model.neighbors[0], bound: 2, names).map { names[Int($0)] } }
        #expect(kept() == ["B", "a2"])
        model.addPair(0, 3, names: names)  // é twice: first
        #expect(kept() == ["é", "B"])
        model.addPair(0, 4, names: names)  // c twice: ties é, c < é
        #expect(kept() == ["c", "é"])
        model.addPair(1, 0, names: names)  // b twice too, from the other side
        #expect(kept() == ["b", "c"])
    }

    @Test func aRebuildFromTheCountsKeepsWhatTheIncrementalBoundKept() {
        for seed in UInt64(1)...20 {
            Self.randomStream(seed: seed, bound: 3, steps: 300) { model, _, names in
                var rebuilt = model
                for p in rebuilt.neighbors.indices {
                    rebuilt.neighbors[p].strongest = []
                    rebuilt.neighbors[p].place = []
                }
                rebuilt.rebuildStrongest(names: names)
                for p in model.neighbors.indices {
                    #expect(
                        Self.kept(rebuilt.neighbors[p], bound: 3, names) == Self.kept(model.neighbors[p], bound: 3, names),
                        "seed \(seed)")
                }
            }
        }
    }

    @Test func exactScoringKeepsNoBoundState() {
        Self.randomStream(seed: 7, bound: 0, steps: 300) { model, _, _ in
            #expect(model.neighbors.allSatisfy { $0.strongest.isEmpty && $0.place.isEmpty })
        }
    }

    // MARK: - The rule-file parameter

    @Test func maxNeighboursIsReadFromTheViewsFamily() throws {
        #expect(RuleSet.defaults.maxNeighbours == RuleSet.defaults.effective["families"]?["views"]?["max_neighbours"].flatMap {
            if case .number(let d) = $0 { Int(d) } else { nil }
        })
        let rules = try RuleSet(overlay: JSONParser.parse(#"{"version": "1", "families": {"views": {"max_neighbours": 25}}}"#))
        #expect(rules.maxNeighbours == 25)
        #expect(CampaignTask(rules: rules).core.model.maxNeighbours == 25)
        #expect(rules.hash != RuleSet.defaults.hash)
    }

    @Test(arguments: ["-1", "2.5", "1000001", "\"50\"", "null"])
    func aMaxNeighboursOutOfRangeNamesItsPath(value: String) {
        let text = #"{"version": "1", "families": {"views": {"max_neighbours": \#(value)}}}"#
        #expect(throws: RuleError("families.views.max_neighbours: expected a whole number from 0 to 1000000, got \(Self.described(value))")) {
            _ = try RuleSet(overlay: JSONParser.parse(text))
        }
    }

    /// The neighbours' slot table against a dictionary: every key found with its value, and none
    /// that was not added, through the growths (keys clustered and spread, as product indices are).
    @Test(arguments: [0, 1, 3, 7, 100, 5_000])
    func theSlotTableFindsWhatADictionaryWould(count: Int) {
        var generator = SplitMix64(seed: UInt64(count))
        var table = SlotTable()
        var reference: [Int32: Int32] = [:]
        while reference.count < count {
            // Half the keys among the first 200 (taken before long), half anywhere.
            let key = Int32.random(in: 0...(Bool.random(using: &generator) ? 200 : Int32.max - 1), using: &generator)
            #expect(table[key] == reference[key])
            guard reference[key] == nil else { continue }
            let value = Int32(reference.count)
            table.insert(key, value)
            reference[key] = value
            #expect(table.count == reference.count)
        }
        for (key, value) in reference { #expect(table[key] == value) }
        for key in Int32(0)..<300 { #expect(table[key] == reference[key]) }
    }

    static func described(_ value: String) -> String {
        (try? JSONParser.parse(value).described) ?? value
    }
}

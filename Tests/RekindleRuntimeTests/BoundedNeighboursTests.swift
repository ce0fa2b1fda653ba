import Foundation
@testable import RekindleCore
@testable import RekindleRuntime
import RekindleTooling
import Testing

/// `families.views.max_neighbours` (spec 3.6) over whole generated streams whose product
/// popularity follows Zipf's law, so that best-sellers co-occur with most of the catalogue.
@Suite struct BoundedNeighboursTests {
    static let events: [Event] = {
        var o = GeneratorOptions()
        o.customers = 600
        o.days = 60
        o.products = 300
        o.seed = 3
        o.popularity = .zipf(exponent: 1)
        var lines: [String] = []
        SyntheticStream.generate(o) { lines.append($0) }
        return lines.compactMap {
            if case .success(let e) = EventDecoder.decode($0) { return e } else { return nil }
        }.enumerated().sorted { ($0.element.occurredAt, $0.offset) < ($1.element.occurredAt, $1.offset) }.map(\.element)
    }()

    static func rules(_ bound: Int) -> RuleSet {
        try! RuleSet(overlay: JSONParser.parse(#"{"version": "t", "families": {"views": {"max_neighbours": \#(bound)}}}"#))
    }

    static func fold(_ events: ArraySlice<Event>, into task: inout CampaignTask, end: Millis?) -> [Output] {
        var out: [Output] = []
        for e in events { task.apply(e, into: &out) }
        if let end { task.advance(to: end, into: &out) }
        return out
    }

    static func triggers(_ out: [Output]) -> [Trigger] {
        out.compactMap { if case .trigger(let t) = $0 { t } else { nil } }
    }

    /// FNV-1a (64 bits) over each trigger's `trigger_id TAB recommendations-joined-by-comma LF`:
    /// what the model decides, apart from the rules_version every trigger carries.
    static func recommendationDigest(_ out: [Output]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for t in triggers(out) {
            for b in Array("\(t.triggerId)\t\((t.recommendations ?? []).joined(separator: ","))\n".utf8) {
                h = (h ^ UInt64(b)) &* 0x100_0000_01b3
            }
        }
        return String(h, radix: 16)
    }

    @Test func exactScoringRecommendsWhatItDidBeforeTheBoundExisted() {
        var task = CampaignTask(rules: Self.rules(0))
        let out = Self.fold(Self.events[...], into: &task, end: Self.events.last!.occurredAt)
        #expect(Self.triggers(out).count { $0.recommendations?.isEmpty == false } > 500)
        // Made by `rekindle replay` built from e8d34fb (before max_neighbours) on this stream.
        #expect(Self.recommendationDigest(out) == "cd70fbec4fc347b7")
    }

    @Test func aBoundNoListReachesChangesNothingAndASmallOneChangesSome() {
        let end = Self.events.last!.occurredAt
        var exact = CampaignTask(rules: Self.rules(0))
        var wide = CampaignTask(rules: Self.rules(1_000_000))
        var narrow = CampaignTask(rules: Self.rules(3))
        let e = Self.fold(Self.events[...], into: &exact, end: end)
        let w = Self.fold(Self.events[...], into: &wide, end: end)
        let n = Self.fold(Self.events[...], into: &narrow, end: end)
        #expect(Self.recommendationDigest(w) == Self.recommendationDigest(e))
        let differing = zip(Self.triggers(e), Self.triggers(n)).count { $0.recommendations != $1.recommendations }
        #expect(differing > 0)
        // The state is the counts alone, whatever the bound (the stored timers name the rules
        // they were computed under, so they are left out of the comparison).
        func withoutTimers(_ t: CampaignTask) -> [SnapshotSectionTests.Section] {
            SnapshotSectionTests.sections(t.encodeState()).filter { $0.name != "timers" }
        }
        #expect(withoutTimers(narrow) == withoutTimers(exact))
    }

    /// A snapshot holds the counts only; the strongest neighbours are rebuilt from them, so a
    /// restored bounded task continues exactly as one that never stopped, and a snapshot taken
    /// under one bound continues under another as if that bound had always been in force.
    @Test(arguments: [0.0, 0.3, 0.77, 1.0])
    func aRestoredBoundedTaskContinuesExactlyAsTheOriginal(split: Double) throws {
        let events = Self.events
        let end = events.last!.occurredAt
        let bounded = Self.rules(10)
        var whole = CampaignTask(rules: bounded)
        let expected = Self.fold(events[...], into: &whole, end: end)
        let cut = Int(Double(events.count) * split)
        for before in [bounded, Self.rules(0), Self.rules(2)] {
            var first = CampaignTask(rules: before)
            _ = Self.fold(events[..<cut], into: &first, end: nil)
            var restored = try CampaignTask(restoring: first.encodeState(), rules: bounded)
            var uninterrupted = CampaignTask(rules: bounded)
            let prefix = Self.fold(events[..<cut], into: &uninterrupted, end: nil)
            // The same neighbours kept (their slots and heap places differ: a restore adds them
            // in id order).
            func kept(_ t: CampaignTask) -> [[Int32]] { t.core.model.neighbors.map { n in n.strongest.map { n.ids[Int($0)] }.sorted() } }
            #expect(kept(restored) == kept(uninterrupted))
            let rest = Self.fold(events[cut...], into: &restored, end: end)
            #expect(
                SnapshotTests.lines(prefix + rest) == SnapshotTests.lines(expected),
                "split \(split), snapshot under max_neighbours \(before.maxNeighbours)")
        }
    }

    @Test func someRecipientsBuyARecommendedProduct() {
        var task = CampaignTask(rules: Self.rules(0))
        let out = Self.fold(Self.events[...], into: &task, end: Self.events.last!.occurredAt)
        let rate = HitRate.measure(events: Self.events, triggers: Self.triggers(out))
        #expect(rate.triggers > 500)
        #expect(rate.hits > 0)
    }
}

import Foundation
import RekindleCore
import Testing

/// Every numeric parameter of a rule file has a finite range, checked when the file is read and
/// stated in the error, so a rule set that loads can be folded.
@Suite struct RuleRangeTests {
    /// Every numeric (or null-able numeric) leaf of the default tree, with its path.
    static func numericLeaves(_ v: JSONValue, _ path: [PathStep] = []) -> [[PathStep]] {
        switch v {
        case .number: return [path]
        case .null: return [path]
        case .object(let members): return members.flatMap { numericLeaves($0.value, path + [.key($0.key)]) }
        case .array(let items): return items.indices.flatMap { numericLeaves(items[$0], path + [.index($0)]) }
        default: return []
        }
    }

    enum PathStep: Equatable {
        case key(String)
        case index(Int)
    }

    static func setting(_ tree: JSONValue, _ path: ArraySlice<PathStep>, to value: JSONValue) -> JSONValue {
        guard let step = path.first else { return value }
        switch (tree, step) {
        case (.object(var members), .key(let k)):
            let i = members.firstIndex { $0.key == k }!
            members[i].value = setting(members[i].value, path.dropFirst(), to: value)
            return .object(members)
        case (.array(var items), .index(let i)):
            items[i] = setting(items[i], path.dropFirst(), to: value)
            return .array(items)
        default: fatalError("bad path")
        }
    }

    static func text(_ path: [PathStep]) -> String {
        var s = ""
        for step in path {
            switch step {
            case .key(let k): s += s.isEmpty ? k : ".\(k)"
            case .index(let i): s += "[\(i)]"
            }
        }
        return s
    }

    /// The error of the default tree with one leaf changed, or nil if it loads.
    static func error(_ path: [PathStep], _ value: Double) -> String? {
        let tree = setting(RuleSet.defaults.effective, path[...], to: .number(value))
        do { _ = try RuleSet(overlay: tree) } catch { return error.message }
        return nil
    }

    /// (low, high, above) parsed from "a [whole ]number from X to Y" or "... > X and <= Y".
    static func range(in message: String) -> (Double, Double, Bool)? {
        for (pattern, above) in [(" from ", false), (" > ", true)] {
            guard let r = message.range(of: "number" + pattern) else { continue }
            let rest = message[r.upperBound...]
            let parts = rest.split(separator: ",", maxSplits: 1)[0]
                .components(separatedBy: above ? " and <= " : " to ")
            guard parts.count == 2, let lo = Double(parts[0]), let hi = Double(parts[1]) else { return nil }
            return (lo, hi, above)
        }
        return nil
    }

    @Test func everyNumericParameterHasAFiniteDocumentedRangeEnforcedAtBothEnds() throws {
        let leaves = Self.numericLeaves(RuleSet.defaults.effective).filter { $0 != [.key("version")] }
        #expect(leaves.count > 60)
        for leaf in leaves {
            let name = Self.text(leaf)
            let huge = try #require(Self.error(leaf, 1e300), "\(name) accepts 1e300")
            #expect(huge.hasPrefix("\(name): expected a "), "\(huge)")
            let (lo, hi, above) = try #require(Self.range(in: huge), "\(name): no range in \(huge)")
            #expect(hi < 1e16, "\(name): the range must be finite and small")
            let texts = above ? [ParamRange.above(lo, upTo: hi, "").text]
                : [ParamRange.number(lo...hi, "").text, ParamRange.whole(Int(lo)...Int(hi), "").text]
            #expect(texts.contains { huge.contains($0) && RuleSet.rangeTable.contains($0) }, "\(name): \(huge) is not in the table")
            #expect(Self.error(leaf, hi.nextUp) != nil, "\(name) accepts more than \(hi)")
            #expect(Self.error(leaf, above ? lo : lo.nextDown) != nil, "\(name) accepts \(lo)")
            #expect(Self.error(leaf, -1) != nil, "\(name) accepts -1")
            // Both ends load, except where another parameter constrains this one (touch order,
            // max_purchases >= min_purchases): the error then names that constraint, not the range.
            for v in [hi, above ? (lo + hi) / 2 : lo] {
                if let e = Self.error(leaf, v) {
                    #expect(!e.contains("expected a"), "\(name) = \(v): \(e)")
                }
            }
        }
    }

    @Test func aRangeErrorStatesTheRange() {
        func error(_ text: String) -> String? {
            do { _ = try RuleSet(overlay: JSONParser.parse(text)) } catch let e as RuleError { return e.message } catch { return "\(error)" }
            return nil
        }
        #expect(error(#"{"version": "1", "families": {"rf": {"rules": {"rf.new": {"days": 1e12}}}}}"#)
            == "families.rf.rules.rf.new.days: expected a number from 0 to 36500, got number 1000000000000")
        #expect(error(#"{"version": "1", "families": {"stage": {"rules": {"stage.lapsed": {"factor": 1000}}}}}"#)
            == "families.stage.rules.stage.lapsed.factor: expected a number > 0 and <= 100, got number 1000")
        #expect(error(#"{"version": "1", "families": {"rf": {"rules": {"rf.new": {"min_purchases": 1.5}}}}}"#)
            == "families.rf.rules.rf.new.min_purchases: expected a whole number from 1 to 1000000, got number 1.5")
        #expect(error(#"{"version": "1", "families": {"views": {"rules": {"view.abandoned": {"max_recommendations": 1e9}}}}}"#)
            == "families.views.rules.view.abandoned.max_recommendations: expected a whole number from 0 to 100, got number 1000000000")
    }

    @Test func saturatingTimeArithmeticStopsAtTheEndsInsteadOfTrapping() {
        #expect(Millis(5).adding(7) == 12)
        #expect(Millis.max.subtracting(1).adding(5) == .max)
        #expect(Millis.min.adding(-1) == .min)
        #expect(Millis.min.subtracting(1) == .min)
        #expect(Millis.max.subtracting(-1) == .max)
        #expect(Millis(-3).subtracting(4) == -7)
        #expect(Millis.flooring(1.9) == 1)
        #expect(Millis.flooring(-1.1) == -2)
        #expect(Millis.flooring(1e300) == .max)
        #expect(Millis.flooring(9_223_372_036_854_775_808.0) == .max)
        #expect(Millis.flooring(9_223_372_036_854_774_784.0) == 9_223_372_036_854_774_784)
        #expect(Millis.flooring(-1e300) == .min)
        #expect(Millis.flooring(.nan) == .never)
        #expect(Timestamp.format(.max) == "9999-12-31T23:59:59.999Z")
        #expect(Timestamp.format(.min) == "0000-01-01T00:00:00.000Z")
        #expect(Timestamp.format(Timestamp.latest) == "9999-12-31T23:59:59.999Z")
        #expect(Timestamp.format(Timestamp.earliest) == "0000-01-01T00:00:00.000Z")
        #expect(Timestamp.format(Timestamp.earliest + 1) == "0000-01-01T00:00:00.001Z")
    }

    /// The largest spans and factors a rule file accepts (shared with the runtime's CLI tests).
    static var maximal: String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/maximal-rules.json")
        return (try? String(contentsOf: url, encoding: .utf8)) ?? "missing \(url.path)"
    }

    /// Events at the first and last instants an event can have, folded by the largest rule spans:
    /// nothing traps, and no touch due past the last instant fires.
    @Test func theLargestRulesFoldEventsFromYear0001To9999WithoutTrapping() throws {
        let rules = try RuleSet(overlay: JSONParser.parse(Self.maximal))
        let first = try #require(Timestamp.parse("0001-01-01T00:00:00Z"))
        let year0 = try #require(Timestamp.parse("0000-01-01T00:00:00+23:59"))
        let last = try #require(Timestamp.parse("9999-12-31T23:59:59.999Z"))
        for lateness: Millis in [0, 315_360_000_000, .max] {
            var s = Scenario(rules, allowedLatenessMs: lateness)
            s.purchase("o0", at: year0, customer: "ancient", items: ["p1"])
            s.purchase("o1", at: first, customer: "ancient", items: ["p1", "p2"])
            s.view("p3", at: first, customer: "ancient")
            s.open(at: first, customer: "ancient")
            s.purchase("o2", at: first, customer: "both", items: ["p1"])
            s.purchase("o3", at: last - 1, customer: "both", items: ["p2"])
            s.view("p1", at: last - 1, customer: "late")
            s.purchase("o4", at: last, customer: "late", items: ["p4"])
            s.purchase("o5", at: last, customer: "both", items: ["p5"])
            s.open(at: last, customer: "both")
            s.advance(to: last)
            #expect(s.triggers.allSatisfy { $0.firedAt <= last })
            #expect(!s.triggers.isEmpty, "frequency.rise (more than 0 purchases) fires on the purchases")
            // A customer who bought at year 9999 has every touch past the end: nothing of theirs fires.
            let afterLast = s.triggers.filter { $0.customerId == "late" && $0.ruleId != "frequency.rise" && $0.ruleId != "vip.entered" }
            #expect(afterLast.isEmpty, "\(afterLast.map { "\($0.ruleId)@\(Timestamp.format($0.firedAt))" })")
            // Past every representable instant: touches up to 100 years on fire, none traps.
            s.advance(to: .max)
            #expect(s.task.nextTimerDue == nil)
            let far = s.triggers.map { $0.offer?.validUntil ?? 0 }.max() ?? 0
            #expect(Timestamp.format(far).count == 24)
        }
    }

    @Test func aMeanIntervalPastTheRangeOfMillisGivesATouchThatNeverFires() {
        var facts = CustomerFacts()
        facts.completedOrders = 1
        facts.lastPurchaseAt = 253_402_300_799_999
        #expect(facts.afterLast(1e300, RuleSet.defaults.shop) == .never)
        facts.lastPurchaseAt = Timestamp.earliest
        #expect(facts.afterLast(-1e300, RuleSet.defaults.shop) == .min)
    }
}

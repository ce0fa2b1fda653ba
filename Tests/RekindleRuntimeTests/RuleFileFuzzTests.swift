import Foundation
import RekindleCore
import RekindleTooling
import Testing

/// Random rule files (valid YAML, real keys, values of every kind and magnitude) through
/// `rules check` and, when accepted, a short replay: whatever the file, the process exits 0 or 2,
/// never on a signal, and `rules check` accepts exactly what replay can run.
@Suite struct RuleFileFuzzTests {
    static let seed: UInt64 = 0x5EED_2026_1130
    static let files = 150

    /// Writes `v` as flow YAML; numbers as given (so `.inf`, `1e300` and `0x1F` reach the parser).
    static func yaml(_ v: FuzzValue) -> String {
        switch v {
        case .raw(let s): return s
        case .string(let s): return JSONWriter.quoted(s)
        case .list(let items): return "[" + items.map(yaml).joined(separator: ", ") + "]"
        case .map(let members): return "{" + members.map { JSONWriter.quoted($0.0) + ": " + yaml($0.1) }.joined(separator: ", ") + "}"
        }
    }

    indirect enum FuzzValue {
        case raw(String)
        case string(String)
        case list([FuzzValue])
        case map([(String, FuzzValue)])
    }

    /// Every key of the default tree, and every rule id, family and kind: the vocabulary of a file.
    static let vocabulary: (params: [String], ruleIds: [String: [String]], kinds: [String]) = {
        var params = Set<String>(), ids: [String: [String]] = [:]
        func walk(_ v: JSONValue) {
            switch v {
            case .object(let m): for x in m { params.insert(x.key); walk(x.value) }
            case .array(let a): a.forEach(walk)
            default: break
            }
        }
        guard case .object(let fams)? = RuleSet.defaults.effective["families"] else { return ([], [:], []) }
        for f in fams {
            guard case .object(let rules)? = f.value["rules"] else { continue }
            ids[f.key] = rules.map(\.key)
            for r in rules { walk(r.value) }
            if case .object(let fm) = f.value { for x in fm where x.key != "rules" { params.insert(x.key) } }
        }
        walk(RuleSet.defaults.effective["shop"] ?? .null)
        params.subtract(Set(fams.flatMap { f in ids[f.key] ?? [] }))
        params.insert("like")
        let kinds = ["rf", "chain", "rhythm", "prospect", "entered", "cooled", "rewarmed", "abandoned", "rise", "fall", "weekly"]
        return (params.sorted(), ids, kinds)
    }()

    static func number(_ rng: inout SplitMix64) -> String {
        switch rng.below(12) {
        case 0: return rng.pick(["1e300", "-1e300", "1e-300", "9223372036854775807", "-9223372036854775808", "1e12", "1e11", "9.3e18", "1e12", "1000000000001"])
        case 1: return rng.pick([".inf", "-.inf", ".nan", "0x1F", "1_000", "0o17", "+12", "1.", "-0"])
        case 2: return String(-rng.int(1...1000))
        case 3: return String(rng.unit())
        case 4: return rng.pick(["36500", "36501", "3650", "3651", "100", "100.0001", "876000", "52560000", "1000000", "1000000000", "1e12"])
        default: return String(rng.int(0...120))
        }
    }

    static func value(_ rng: inout SplitMix64, depth: Int = 0) -> FuzzValue {
        switch rng.below(20) {
        case 0: return .raw("null")
        case 1: return .raw(rng.pick(["true", "false", "yes", "~"]))
        case 2: return .string(rng.pick(["", "soon", "email", "sms", "10", "excluded", "qualifies", "rf.new", "é\u{0}\u{1F600}"]))
        case 3 where depth < 3: return .list((0..<rng.below(3)).map { _ in value(&rng, depth: depth + 1) })
        case 4 where depth < 3: return .map([(rng.pick(vocabulary.params), value(&rng, depth: depth + 1))])
        default: return .raw(number(&rng))
        }
    }

    /// A touch list for a chain: mostly well formed, with random values.
    static func touches(_ rng: inout SplitMix64) -> FuzzValue {
        var after = 0
        return .list((0..<rng.int(0...3)).map { _ in
            after += rng.int(0...40)
            var t: [(String, FuzzValue)] = [("after_days", .raw(String(after))), ("channel", .string("sms")),
                                             ("conversion_window_days", .raw("7")), ("bonus_points", .raw("100")), ("valid_days", .raw("7"))]
            let k = rng.below(t.count)
            t[k].1 = rng.chance(0.5) ? .raw(number(&rng)) : value(&rng)
            return .map(t)
        })
    }

    /// A rule file laying a few random changes over the defaults.
    static func ruleFile(_ rng: inout SplitMix64) -> String {
        var families: [(String, FuzzValue)] = []
        for family in RuleSet.families.shuffled(using: &rng).prefix(rng.int(0...3)) {
            var members: [(String, FuzzValue)] = []
            if rng.chance(0.2) { members.append(("enabled", .raw(rng.pick(["false", "true", "1"])))) }
            if rng.chance(0.3) { members.append((rng.pick(vocabulary.params), .raw(number(&rng)))) }
            var rules: [(String, FuzzValue)] = []
            for n in 0..<rng.int(1...3) {
                let ids = vocabulary.ruleIds[family] ?? []
                let existing = rng.chance(0.6)
                var body: [(String, FuzzValue)] = existing ? [] : [("like", .string(rng.pick(ids)))]
                for _ in 0..<rng.int(1...3) {
                    let key = rng.chance(0.9) ? rng.pick(vocabulary.params) : "dayz"
                    guard !body.contains(where: { $0.0 == key }) else { continue }
                    switch key {
                    case "touches": body.append((key, touches(&rng)))
                    case "kind": body.append((key, .string(rng.pick(vocabulary.kinds))))
                    case "like": continue
                    default: body.append((key, rng.chance(0.6) ? .raw(number(&rng)) : value(&rng)))
                    }
                }
                rules.append((existing ? rng.pick(ids) : "fuzz.\(n)", .map(body)))
            }
            // A rule id given twice is a YAML error of its own; keep the first.
            var seen = Set<String>()
            rules = rules.filter { seen.insert($0.0).inserted }
            members.append(("rules", .map(rules)))
            families.append((family, .map(members)))
        }
        var top: [(String, FuzzValue)] = [("version", .string("fuzz"))]
        if rng.chance(0.3) {
            let key = rng.pick(["mean_interval_days", "min_mean_interval_days", "conversion_window_days", "channel"])
            top.append(("shop", .map([(key, .raw(number(&rng)))])))
        }
        top.append(("families", .map(families)))
        return yaml(.map(top)) + "\n"
    }

    @Test func randomRuleFilesAreRefusedOrRunButNeverCrash() throws {
        let dir = try CLI.temporaryDirectory()
        let input = dir.appendingPathComponent("events.jsonl")
        try HostileRuleFileTests.events.write(to: input, atomically: true, encoding: .utf8)
        var rng = SplitMix64(seed: Self.seed)
        var accepted = 0, refused = 0
        for k in 0..<Self.files {
            let text = Self.ruleFile(&rng)
            let file = dir.appendingPathComponent("rules-\(k).yaml")
            try text.write(to: file, atomically: true, encoding: .utf8)
            let where_ = "seed \(Self.seed) file \(k): \(text)"
            let check = try CLI.rekindle(["rules", "check", file.path])
            #expect(check.status == 0 || check.status == 2, "rules check exited \(check.status), \(where_)\n\(check.stderr.suffix(500))")
            guard check.status == 0 else {
                refused += 1
                #expect(check.stderr.contains("bad rule file: \(file.path): "), "\(where_)\n\(check.stderr.prefix(500))")
                continue
            }
            accepted += 1
            let replay = try CLI.rekindle(["replay", "--input", input.path, "--output", dir.appendingPathComponent("t.jsonl").path,
                                           "--rules", file.path, "--quiet"])
            #expect(replay.status == 0, "replay exited \(replay.status) on a file rules check accepted, \(where_)\n\(replay.stderr.suffix(500))")
        }
        // Not vacuous: both sides of the check were exercised.
        #expect(accepted >= 20, "only \(accepted) accepted files")
        #expect(refused >= 20, "only \(refused) refused files")
    }
}

import Foundation
import RekindleCore
@testable import RekindleRuntime
import Testing

/// `rekindle backtest` in process: its per-rule numbers against the replay's outputs, the
/// candidate folded beside the current rule set against it folded alone, partitions, and input
/// out of order.
@Suite struct BacktestJobTests {
    static let lines = ReplayFixture.generated(customers: 400, days: 90, seed: 31, bad: 0.01)
    static let winback = CLI.packageRoot.appendingPathComponent("rules/examples/winback.yaml").path

    /// Runs the job over `lines` written to a file; returns its analysis and the JSON report.
    static func backtest(_ lines: [String], configure: (inout BacktestJob) -> Void = { _ in }) throws -> (BacktestAnalysis, [UInt8]) {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("events.jsonl").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let report = dir.appendingPathComponent("report.json").path
        var job = BacktestJob(inputs: [input], reports: [report])
        job.checks.reference = Timestamp.parse("2100-01-01T00:00:00Z")
        configure(&job)
        let analysis = try job.run()
        return (analysis, Array(try Data(contentsOf: URL(fileURLWithPath: report))))
    }

    @Test func lastTouchIsTheConversionsTopicAndEveryModelCreditsEachPurchaseOnceToTheCent() throws {
        let (analysis, _) = try Self.backtest(Self.lines)
        let replay = ReplayFixture.replay(Self.lines)
        let last = AttributionModel.lastTouch.rawValue
        var credited = 0
        for line in replay.report.lines {
            let m = try #require(analysis.current.rules[line.ruleId])
            let conversions = replay.conversions.filter { $0.ruleId == line.ruleId }
            #expect(m.triggers == line.triggers && m.customers == line.customers, "\(line.ruleId)")
            #expect(m.conversions[last] == Double(conversions.count), "\(line.ruleId)")
            #expect(m.cents[last] == conversions.reduce(0) { $0 + PurchaseHistory.cents($1.revenue)! }, "\(line.ruleId)")
            credited += conversions.count
        }
        // Not vacuous: purchases shared by several touches, so that the models differ.
        #expect(credited > 200)
        let total = analysis.current.total
        #expect(analysis.current.purchasesCredited == credited)
        let rules = analysis.current.rules.values
        var differ = false
        for model in AttributionModel.allCases {
            let conversions = rules.reduce(0.0) { $0 + $1.conversions[model.rawValue] }
            let cents = rules.reduce(Int64(0)) { $0 + $1.cents[model.rawValue] }
            #expect(abs(conversions - Double(credited)) < 1e-6, "\(model.name): \(conversions) conversions for \(credited) purchases")
            #expect(cents == total.cents[last], "\(model.name): \(cents) cents, last touch \(total.cents[last])")
            #expect(total.cents[model.rawValue] == cents)
            differ = differ || rules.contains { $0.cents[model.rawValue] != $0.cents[last] }
        }
        #expect(differ, "every model credited every rule alike: no purchase had two touches")
    }

    @Test func aCandidateFoldedBesideTheCurrentRulesGivesWhatItGivesFoldedAlone() throws {
        let (both, _) = try Self.backtest(Self.lines) { $0.comparePath = Self.winback }
        let (current, currentJSON) = try Self.backtest(Self.lines)
        let (candidate, _) = try Self.backtest(Self.lines) { $0.rulesPath = Self.winback }
        let compared = try #require(both.candidate)
        #expect(both.current.rules == current.current.rules && both.current.total == current.current.total)
        #expect(compared.rules == candidate.current.rules && compared.total == candidate.current.total)
        #expect(compared.rulesFileVersion == "winback-test-1")
        // The candidate's own rule (view.abandoned_day) is listed after the current rules.
        #expect(both.ruleIds.last == "view.abandoned_day" && !current.ruleIds.contains("view.abandoned_day"))
        // Whole-history analytics do not depend on the rules.
        #expect(both.cohorts.cohorts == current.cohorts.cohorts && both.cohorts.months == current.cohorts.months)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(currentJSON)) as? [String: Any])
        #expect(json["rule_sets"].flatMap { ($0 as? [String: Any])?["candidate"] } is NSNull)
    }

    @Test func withExperimentsAndCapsTheBacktestCountsWithheldTouchesLiftAndPressureBeforeTheCaps() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rulesPath = dir.appendingPathComponent("rules.yaml").path
        try """
            version: "pressure"
            experiments: {name: "spring", holdout: 0.3}
            policy: {caps: [{channel: any, max: 1, per_days: 30}]}
            """.write(toFile: rulesPath, atomically: true, encoding: .utf8)
        let (analysis, json) = try Self.backtest(Self.lines) { $0.rulesPath = rulesPath }
        let rules = try RuleFile.load(path: rulesPath)
        let replay = ReplayFixture.replay(Self.lines, rules: rules)
        let reasons = WithheldReason.allCases
        var capped = 0
        for line in replay.report.lines {
            let m = try #require(analysis.current.rules[line.ruleId])
            #expect(m.withheld == reasons.map { line.withheld[$0] ?? 0 }, "\(line.ruleId): the replay's withheld counts")
            #expect(m.lift?.counts == line.lift, "\(line.ruleId): the replay's lift")
            let mine = replay.withheld.filter { $0.ruleId == line.ruleId && $0.withheld == .cap }
            capped += mine.count
            if let before = m.messagesPerCustomer30dBeforeCaps, let after = m.messagesPerCustomer30d {
                let reached = Set(replay.triggers.filter { $0.ruleId == line.ruleId }.map(\.customerId) + mine.map(\.customerId))
                #expect(abs(before / after - Double(line.triggers + mine.count) / Double(reached.count) / (Double(line.triggers) / Double(line.customers))) < 1e-9)
            }
        }
        #expect(capped > 50, "the cap withheld touches")
        let total = analysis.current.total
        #expect(try #require(total.messagesPerCustomer30dBeforeCaps) > (total.messagesPerCustomer30d ?? 0))
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.contains(#""lift":{"holdout":0.3,"#) && text.contains(#""messages_per_customer_30d_before_caps":"#))
    }

    @Test func partitionsSplitCustomersAsTheReplayDoes() throws {
        let (analysis, _) = try Self.backtest(Self.lines) { $0.partitions = 4 }
        let replay = ReplayFixture.replay(Self.lines, partitions: 4)
        for line in replay.report.lines {
            let m = try #require(analysis.current.rules[line.ruleId])
            #expect(m.triggers == line.triggers && m.customers == line.customers, "\(line.ruleId)")
            #expect(m.conversions[AttributionModel.lastTouch.rawValue] == Double(line.conversions), "\(line.ruleId)")
        }
    }

    /// The back-test counts customers by their lives' numbers in their tasks and groups touches
    /// by id only at the end: a customer erased and back (a new number) and reached by a rule
    /// before and after is one customer of that rule and of the total, on one task or several.
    @Test(arguments: [1, 3])
    func aCustomerErasedAndBackIsOneCustomerOfTheBacktestAsOfTheReplay(partitions: Int) throws {
        func field(_ name: String, _ line: String) -> String? {
            guard let r = line.range(of: "\"\(name)\":\"") else { return nil }
            return String(line[r.upperBound...].prefix { $0 != "\"" })
        }
        // Every fifth customer erased halfway through the history; their events go on after.
        var lines = Self.lines
        let middle = try #require((lines.count / 2..<lines.count).first { field("occurred_at", lines[$0]).flatMap(Timestamp.parse) != nil })
        let at = try #require(field("occurred_at", lines[middle]))
        let atMillis = try #require(Timestamp.parse(at))
        let customers = Set(lines.compactMap { field("customer_id", $0) }).sorted()
        let erased = Set(stride(from: 0, to: customers.count, by: 5).map { customers[$0] })
        lines.insert(
            contentsOf: erased.sorted().enumerated().map { k, id in #"{"type":"erasure","event_id":"erase-\#(k)","customer_id":"\#(id)","occurred_at":"\#(at)"}"# },
            at: middle)

        let replay = ReplayFixture.replay(lines, partitions: partitions)
        let before = Set(replay.triggers.filter { erased.contains($0.customerId) && $0.firedAt <= atMillis }.map { [$0.customerId, $0.ruleId] })
        let after = Set(replay.triggers.filter { erased.contains($0.customerId) && $0.firedAt > atMillis }.map { [$0.customerId, $0.ruleId] })
        #expect(!before.intersection(after).isEmpty, "not vacuous: a rule reached an erased customer before and after")

        let (analysis, _) = try Self.backtest(lines) { $0.partitions = partitions }
        for line in replay.report.lines {
            let m = try #require(analysis.current.rules[line.ruleId])
            #expect(m.triggers == line.triggers && m.customers == line.customers, "\(line.ruleId)")
        }
        #expect(analysis.current.total.customers == Set(replay.triggers.map(\.customerId)).count)
    }

    @Test func inputOutOfOrderGivesTheSameReportAsInOrder() throws {
        let (_, sorted) = try Self.backtest(Self.lines)
        let shuffled = ReplayFixture.shuffleKeepingTies(Self.lines, seed: 5)
        #expect(shuffled != Self.lines)
        let (_, unsorted) = try Self.backtest(shuffled)
        #expect(String(decoding: unsorted, as: UTF8.self) == String(decoding: sorted, as: UTF8.self))
    }

    @Test func untilWithNoModelFitsOneThereAndChecksItAgainstThePurchasesAfter() throws {
        let until = try #require(Timestamp.parse("2026-02-15T00:00:00Z"))
        let (analysis, _) = try Self.backtest(Self.lines) { $0.until = until }
        // The rules still fold over the whole history: --until is the churn boundary only.
        let replay = ReplayFixture.replay(Self.lines)
        #expect(analysis.current.total.triggers == replay.report.totalTriggers && analysis.until == until)
        #expect(analysis.churn.count == 1 && analysis.churnNote == nil)
        let check = try #require(analysis.churn.first)
        #expect(check.source == .fitted && check.fittedUntil == until && check.boundary == until)
        let total = try #require(check.predictions.last)
        let cohorts = check.predictions.dropLast()
        #expect(total.cohort == nil && !cohorts.isEmpty && cohorts.allSatisfy { $0.cohort != nil })
        #expect(total.customers == cohorts.reduce(0) { $0 + $1.customers } && total.actual == cohorts.reduce(0) { $0 + $1.actual })
        #expect(abs(total.predicted - cohorts.reduce(0) { $0 + $1.predicted }) < 1e-9)
        #expect(total.actual > 0 && total.predicted > 0)
        // Every buyer at each month's end is in one band.
        let buyers = ChurnCheck.Buyers(PurchaseHistoryFixture.history(Self.lines))
        for b in check.bands {
            #expect(b.low + b.medium + b.high == buyers.summaries(at: b.at).count)
        }
    }

    @Test func anEmptyHistoryGivesAReportWithNoPeriodNoCohortsAndNoTriggers() throws {
        let (analysis, json) = try Self.backtest([])
        #expect(analysis.events == 0 && analysis.current.total.triggers == 0)
        #expect(analysis.cohorts.cohorts.isEmpty && analysis.cohorts.months.isEmpty && analysis.pressure.isEmpty)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        #expect(report["period"] is NSNull)
    }

    @Test func aRulesVersionThatLooksLikeMarkupCannotEndThePagesDataOrOpenAComment() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rules = dir.appendingPathComponent("rules.yaml").path
        try "version: \"v</script><script>alert(1)</script><!--\"\n".write(toFile: rules, atomically: true, encoding: .utf8)
        let (analysis, _) = try Self.backtest(Array(Self.lines.prefix(2_000))) { $0.rulesPath = rules }
        #expect(analysis.current.rulesFileVersion == "v</script><script>alert(1)</script><!--")
        let page = BacktestHTML.page(analysis)
        // The page's own three script elements end, and nothing else does.
        #expect(page.components(separatedBy: "</script>").count == 4)
        #expect(!page.contains("<!--") && page.contains(#"v\u003c/script>"#))
    }

    @Test func aReportNamedNeitherHTMLNorJSONIsRefusedBeforeAnythingIsRead() throws {
        let job = BacktestJob(inputs: ["/nonexistent/events.jsonl"], reports: ["report.txt"])
        #expect(throws: PathError(flag: "--report", path: "report.txt", problem: "must end in .html or .json (the report's format)")) {
            try job.check()
        }
    }
}

/// The purchase history of generated lines, read and ordered as the back-test reads them.
enum PurchaseHistoryFixture {
    static func history(_ lines: [String]) -> PurchaseHistory {
        var reader = EventFileReader()
        var text = Array(lines.joined(separator: "\n").utf8)
        text.withUnsafeMutableBufferPointer { reader.read(UnsafeBufferPointer($0), name: "events.jsonl") }
        var history = PurchaseHistory()
        let sorted = reader.events.sorted { ($0.event.occurredAt, $0.sequence) < ($1.event.occurredAt, $1.sequence) }
        for e in sorted { history.add(e.event) }
        return history
    }
}

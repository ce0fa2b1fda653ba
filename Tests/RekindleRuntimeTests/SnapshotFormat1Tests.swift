import Foundation
import RekindleCore
@testable import RekindleRuntime
import Testing

/// Snapshots written by earlier releases restore in this one: state format 1 (the release before
/// the consumer group was recorded) and format 2 with the core section of version 1 (before the
/// customers' records were kept as bytes). The fixtures were made by those releases' `rekindle run`
/// from a fixed generated stream (each fixture directory's README.md says how); each must restore
/// and continue exactly as a clean fold of the whole stream does from that point.
@Suite struct SnapshotFormat1Tests {
    static func directory(_ name: String) -> String { CLI.packageRoot.appendingPathComponent("Tests/Fixtures/\(name)").path }
    static let lines = ReplayFixture.generated(customers: 200, days: 20, seed: 7)

    /// The stream as `rekindle produce` put it on topics of one partition: each topic's events in
    /// file order, an event's offset being its index.
    static let byTopic: [[Event]] = {
        var lists = [[Event]](repeating: [], count: Topic.allCases.count)
        for line in lines {
            if case .success(let e) = EventDecoder.decode(line) { lists[e.topic.rawValue].append(e) }
        }
        return lists
    }()

    /// The live task's merge (TaskRunner.drain) of each topic's events in `ranges`: the earliest
    /// head first, a tie to the earlier topic (orders, product-views, email-opens).
    static func merged(_ ranges: [Range<Int>]) -> [Event] {
        var next = ranges.map(\.lowerBound)
        var out: [Event] = []
        while true {
            var best: Int?
            for k in ranges.indices where next[k] < ranges[k].upperBound {
                if best == nil || byTopic[k][next[k]].occurredAt < byTopic[best!][next[best!]].occurredAt { best = k }
            }
            guard let k = best else { return out }
            out.append(byTopic[k][next[k]])
            next[k] += 1
        }
    }

    @Test func format1SnapshotsRestoreAndContinueByteIdenticallyToACleanFold() throws {
        try restoresAndContinues("snapshots-format1", format: 1, group: nil, rulesVersion: "d5b785292d4638e6")
    }

    @Test func snapshotsWithCoreSectionVersion1RestoreAndContinueByteIdenticallyToACleanFold() throws {
        try restoresAndContinues("snapshots-format2-core1", format: 2, group: "rekindle", rulesVersion: "e39262768f208f04")
    }

    func restoresAndContinues(_ fixtures: String, format: UInt8, group: String?, rulesVersion: String) throws {
        #expect(Self.byTopic.map(\.count).reduce(0, +) == Self.lines.count, "every line is an event")
        let dir = Self.directory(fixtures)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".snap") }.sorted()
        #expect(files.count == 3)
        let whole = Self.byTopic.map { 0..<$0.count }
        let end = Self.byTopic.flatMap { $0 }.map(\.occurredAt).max()!
        var clean = CampaignTask(rules: .defaults)
        var cleanOut: [Output] = []
        for e in Self.merged(whole) { clean.apply(e, into: &cleanOut) }
        clean.advance(to: end, into: &cleanOut)
        #expect(cleanOut.count > 300)
        let topics = TopicNames()
        var resumedAt: Set<[Int]> = []
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(file)")))
            #expect(bytes[6] == format && bytes[7] == 0, "\(file) is format \(format)")
            // Through the runtime's one restore path (format 1 names no group: it is accepted for
            // its task whatever the group).
            let chosen = SnapshotSelection.newestGood(
                [SnapshotCandidate(name: file, sequence: nil, bytes: bytes)], group: group ?? "any-group", task: 0
            ) { s throws(SnapshotError) in (s, try CampaignTask(restoring: s.state, rules: .defaults)) }
            #expect(chosen.found.rejected.isEmpty, "\(file): \(chosen.found.rejected)")
            guard case (let snapshot, var restored)? = chosen.restored else { continue }
            // Written under the default rules of their release (README.md), whose hash has changed since.
            #expect(snapshot.groupId == group && snapshot.partition == 0 && snapshot.rulesVersion == rulesVersion)
            let offsets = Topic.allCases.map { t in
                Int(snapshot.inputOffsets.first { $0.topic == topics.name(of: t) && $0.partition == 0 }?.offset ?? 0)
            }
            resumedAt.insert(offsets)
            // The snapshot holds a clean fold of exactly the events before its offsets (advanced to
            // its watermark if the runner found the task idle, as it does then).
            var prefix = CampaignTask(rules: .defaults)
            var prefixOut: [Output] = []
            for e in Self.merged(offsets.map { 0..<$0 }) { prefix.apply(e, into: &prefixOut) }
            if restored.encodeState() != prefix.encodeState() { prefix.advance(to: snapshot.watermark, into: &prefixOut) }
            #expect(restored.encodeState() == prefix.encodeState(), "\(file)")
            // ... and continues from them as the clean fold does, byte for byte.
            var after: [Output] = []
            for e in Self.merged(offsets.indices.map { offsets[$0]..<whole[$0].upperBound }) { restored.apply(e, into: &after) }
            restored.advance(to: end, into: &after)
            #expect(!after.isEmpty)
            #expect(SnapshotTests.lines(prefixOut + after) == SnapshotTests.lines(cleanOut), "\(file)")
        }
        #expect(resumedAt.count == files.count, "each fixture resumes at a different point")
    }
}

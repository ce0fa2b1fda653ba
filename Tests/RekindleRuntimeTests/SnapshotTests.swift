import Foundation
import RekindleCore
@testable import RekindleRuntime
import RekindleTooling
import Testing

@Suite struct SnapshotTests {
    static let events: [Event] = {
        ReplayFixture.generated(customers: 400, days: 90, seed: 5).compactMap {
            if case .success(let e) = EventDecoder.decode($0) { return e } else { return nil }
        }.enumerated().sorted { ($0.element.occurredAt, $0.offset) < ($1.element.occurredAt, $1.offset) }.map(\.element)
    }()

    static func lines(_ out: [Output]) -> [String] {
        out.map {
            switch $0 {
            case .trigger(let t), .withheld(let t): return String(decoding: t.json, as: UTF8.self)
            case .conversion(let c): return String(decoding: c.json, as: UTF8.self)
            }
        }
    }

    static func snapshot(_ task: CampaignTask, sequence: UInt64 = 1) -> TaskSnapshot {
        TaskSnapshot(
            groupId: "rekindle", partition: 3, sequence: sequence, rulesVersion: task.rules.hash, watermark: task.watermark,
            inputOffsets: [OffsetEntry(topic: "orders", partition: 3, offset: 42)],
            outputOffsets: [OffsetEntry(topic: "campaign-triggers", partition: 3, offset: 7)], state: task.encodeState())
    }

    /// Folding everything equals folding a prefix, snapshotting, restoring and folding the rest.
    @Test(arguments: [0.0, 0.1, 0.5, 0.93, 1.0])
    func aRestoredTaskContinuesExactlyAsTheOriginal(split: Double) throws {
        let events = Self.events
        let end = events.last!.occurredAt
        var whole = CampaignTask(rules: .defaults)
        var expected: [Output] = []
        for e in events { whole.apply(e, into: &expected) }
        whole.advance(to: end, into: &expected)

        let cut = Int(Double(events.count) * split)
        var first = CampaignTask(rules: .defaults)
        var got: [Output] = []
        for e in events[..<cut] { first.apply(e, into: &got) }
        let bytes = Self.snapshot(first).encoded()
        let decoded = try TaskSnapshot.decode(bytes)
        #expect(decoded == Self.snapshot(first))
        var restored = try CampaignTask(restoring: decoded.state, rules: .defaults)
        // Every field survives: the restored state encodes to the same bytes.
        #expect(restored.encodeState() == first.encodeState())
        for e in events[cut...] { restored.apply(e, into: &got) }
        restored.advance(to: end, into: &got)
        #expect(expected.count > 1000)
        #expect(Self.lines(got) == Self.lines(expected))
    }

    @Test func aTruncatedBitFlippedOrForeignSnapshotIsRefused() throws {
        var task = CampaignTask(rules: .defaults)
        var out: [Output] = []
        for e in Self.events.prefix(3000) { task.apply(e, into: &out) }
        let good = Self.snapshot(task).encoded()
        #expect(throws: Never.self) { try TaskSnapshot.decode(good) }
        for length in [0, 5, 16, 30, good.count / 2, good.count - 17, good.count - 1] {
            #expect(throws: SnapshotError.self, "truncated to \(length)") { try TaskSnapshot.decode(Array(good.prefix(length))) }
        }
        var rng = SplitMix64(seed: 99)
        for _ in 0..<300 {
            var flipped = good
            let at = Int(rng.next() % UInt64(good.count))
            flipped[at] ^= UInt8(1 << (rng.next() % 8))
            #expect(throws: SnapshotError.self, "bit flipped at \(at)") { try TaskSnapshot.decode(flipped) }
        }
        var otherVersion = good
        otherVersion[6] = 3
        #expect(throws: SnapshotError("format version 3, this build reads 1 to 2")) { try TaskSnapshot.decode(otherVersion) }
        // The version decides the layout, and the checksum covers it: format 2 is never read as 1.
        var relabelled = good
        relabelled[6] = 1
        #expect(throws: SnapshotError("checksum mismatch")) { try TaskSnapshot.decode(relabelled) }
        #expect(throws: SnapshotError("not a Rekindle snapshot")) { try TaskSnapshot.decode(Array("PK\u{3}\u{4}".utf8) + good.dropFirst(4)) }
        #expect(throws: SnapshotError.self) { try TaskSnapshot.decode(good + [0]) }
    }

    /// Spec section 4: rules changed while running take effect from now on, never retroactively.
    @Test func restoringUnderChangedRulesFiresNothingRetroactively() throws {
        var task = CampaignTask(rules: .defaults)
        var out: [Output] = []
        task.apply(Event(eventId: "e1", customerId: "c1", occurredAt: T0, body: .order(OrderEvent(orderId: "o1", status: .completed, total: 100))), into: &out)
        task.advance(to: T0 + 7 * day, into: &out)
        #expect(out.isEmpty)
        // rf.new moves from 10 days to 5: day 5 has passed, so touch 1 never fires; touch 2 (5 + 6) still does.
        let changed = try RuleSet(overlay: JSONParser.parse(#"{"version": "v2", "families": {"rf": {"rules": {"rf.new": {"days": 5}}}}}"#))
        var restored = try CampaignTask(restoring: task.encodeState(), rules: changed)
        var after: [Output] = []
        restored.advance(to: T0 + 20 * day, into: &after)
        let fired = after.compactMap { if case .trigger(let t) = $0 { return "\(t.ruleId)#\(t.touch)@\(Timestamp.format(t.firedAt)) \(t.rulesVersion)" } else { return nil } }
        #expect(fired.filter { $0.hasPrefix("rf.new") } == ["rf.new#2@2026-01-12T00:00:00.000Z \(changed.hash)"])
        // A rule that is gone fires nothing after the restore.
        let without = try RuleSet(overlay: JSONParser.parse(#"{"version": "v3", "families": {"rf": {"enabled": false}}}"#))
        var restored2 = try CampaignTask(restoring: task.encodeState(), rules: without)
        var after2: [Output] = []
        restored2.advance(to: T0 + 200 * day, into: &after2)
        #expect(!after2.contains { if case .trigger(let t) = $0 { return t.ruleId.hasPrefix("rf.") } else { return false } })
        #expect(!after2.isEmpty)
    }

    /// Format 2 names the consumer group; format 1, which did not, still decodes (group unknown).
    @Test func format2NamesTheGroupAndFormat1StillDecodesWithoutOne() throws {
        var task = CampaignTask(rules: .defaults)
        var out: [Output] = []
        for e in Self.events.prefix(300) { task.apply(e, into: &out) }
        let current = Self.snapshot(task)
        let bytes = current.encoded()
        #expect(bytes[6] == 2 && bytes[7] == 0)
        #expect(try TaskSnapshot.decode(bytes).groupId == "rekindle")
        #expect(try TaskSnapshot.decode(bytes) == current)
        var old = current
        old.groupId = nil
        let oldBytes = old.encoded()
        #expect(oldBytes[6] == 1 && oldBytes[7] == 0)
        #expect(oldBytes.count == bytes.count - 1 - "rekindle".utf8.count, "format 1 is format 2 without the group")
        #expect(try TaskSnapshot.decode(oldBytes) == old)
        #expect(current.foreignness(group: "rekindle", task: 3) == nil)
        #expect(current.foreignness(group: "other", task: 3) == #"belongs to consumer group "rekindle", not "other""#)
        #expect(current.foreignness(group: "rekindle", task: 4) == "belongs to task 3, not task 4")
        #expect(old.foreignness(group: "other", task: 3) == nil, "format 1: any group")
        #expect(old.foreignness(group: "other", task: 4) == "belongs to task 3, not task 4")
    }
}

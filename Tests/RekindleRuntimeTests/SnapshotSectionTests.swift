import Foundation
import RekindleCore
@testable import RekindleRuntime
import Testing

/// State format 2 is a list of sections (`name, version, length, bytes`): `core`, then one per
/// family. These tests read and rewrite that list independently of the task's own codec, as a
/// release with other families would have written it.
@Suite struct SnapshotSectionTests {
    struct Section: Equatable {
        var name: String
        var version: UInt64
        var bytes: [UInt8]
    }

    static func varint(_ bytes: [UInt8], _ i: inout Int) -> UInt64 {
        var v: UInt64 = 0, shift: UInt64 = 0
        while true {
            let b = bytes[i]
            i += 1
            v |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return v }
            shift += 7
        }
    }

    static func put(_ v: UInt64, _ out: inout [UInt8]) {
        var x = v
        while x >= 0x80 {
            out.append(UInt8(x & 0x7f) | 0x80)
            x >>= 7
        }
        out.append(UInt8(x))
    }

    static func sections(_ state: [UInt8]) -> [Section] {
        var i = 0
        #expect(varint(state, &i) == 2)
        var out: [Section] = []
        for _ in 0..<varint(state, &i) {
            let n = Int(varint(state, &i))
            let name = String(decoding: state[i..<(i + n)], as: UTF8.self)
            i += n
            let version = varint(state, &i)
            let length = Int(varint(state, &i))
            out.append(Section(name: name, version: version, bytes: Array(state[i..<(i + length)])))
            i += length
        }
        #expect(i == state.count)
        return out
    }

    static func state(_ sections: [Section]) -> [UInt8] {
        var out: [UInt8] = []
        put(2, &out)
        put(UInt64(sections.count), &out)
        for s in sections {
            put(UInt64(s.name.utf8.count), &out)
            out += Array(s.name.utf8)
            put(s.version, &out)
            put(UInt64(s.bytes.count), &out)
            out += s.bytes
        }
        return out
    }

    /// A task that has folded the first `count` events of the snapshot tests' stream.
    static func folded(_ count: Int) -> CampaignTask {
        var task = CampaignTask(rules: .defaults)
        var out: [Output] = []
        for e in SnapshotTests.events.prefix(count) { task.apply(e, into: &out) }
        return task
    }

    @Test func theStateIsTheCoreThenOneSectionPerFamilyInRegistryOrder() {
        let s = Self.sections(Self.folded(2000).encodeState())
        #expect(s.map(\.name) == ["core"] + RuleSet.families + ["timers"])
        // The core and the views keep their records' bytes (version 2); the others are version 1.
        #expect(s.map(\.version) == s.map { ["core", "views"].contains($0.name) ? 2 : 1 })
        // Families without state of their own write empty sections; the others do not.
        #expect(s.first { $0.name == "rf" }?.bytes == [])
        #expect(s.first { $0.name == "views" }!.bytes.count > 1000)
        #expect(Self.state(s) == Self.folded(2000).encodeState())
    }

    /// The `timers` section stores each customer's next wake-up so that a restore need not
    /// recompute them: loaded, they are exactly what a recompute from the state gives (the
    /// restored task writes the same bytes, timers included, either way), at every cut.
    @Test func storedTimersAreTheOnesARecomputeGives() throws {
        for cut in [1, 500, 2000, SnapshotTests.events.count / 2, SnapshotTests.events.count] {
            let task = Self.folded(cut)
            let state = task.encodeState()
            let withoutTimers = Self.state(Self.sections(state).filter { $0.name != "timers" })
            #expect(try CampaignTask(restoring: state, rules: .defaults).encodeState() == state, "cut \(cut)")
            #expect(try CampaignTask(restoring: withoutTimers, rules: .defaults).encodeState() == state, "cut \(cut)")
        }
    }

    /// Under changed rules the stored timers do not hold (a rule's delay moved): they are
    /// recomputed, as for a snapshot without the section.
    @Test func storedTimersUnderOtherRulesAreRecomputed() throws {
        let task = Self.folded(SnapshotTests.events.count / 2)
        let state = task.encodeState()
        let changed = try RuleSet(overlay: JSONParser.parse(#"{"version": "v2", "families": {"views": {"rules": {"view.abandoned": {"delay_minutes": 30}}}}}"#))
        let withoutTimers = Self.state(Self.sections(state).filter { $0.name != "timers" })
        let restored = try CampaignTask(restoring: state, rules: changed)
        #expect(restored.encodeState() == (try CampaignTask(restoring: withoutTimers, rules: changed)).encodeState())
        #expect(restored.encodeState() != (try CampaignTask(restoring: state, rules: .defaults)).encodeState())
    }

    @Test func aTimersSectionThatNamesNoCustomerRefusesTheSnapshot() throws {
        var s = Self.sections(Self.folded(2000).encodeState())
        let timers = try #require(s.firstIndex { $0.name == "timers" })
        // After the rules' hash: the count, then the first customer's gap; make that gap huge.
        var i = 0
        let hashLength = Int(Self.varint(s[timers].bytes, &i))
        i += hashLength
        _ = Self.varint(s[timers].bytes, &i)
        var bytes = Array(s[timers].bytes[..<i])
        Self.put(1 << 40, &bytes)
        var rest = i
        _ = Self.varint(s[timers].bytes, &rest)
        bytes += s[timers].bytes[rest...]
        s[timers].bytes = bytes
        #expect(throws: SnapshotError("section timers: customer number out of order or range")) {
            try CampaignTask(restoring: Self.state(s), rules: .defaults)
        }
    }

    @Test func aSectionOfAFamilyThisReleaseDoesNotHaveIsDroppedAndNamed() throws {
        let task = Self.folded(2000)
        var s = Self.sections(task.encodeState())
        s.insert(Section(name: "loyalty_points", version: 3, bytes: [1, 2, 3]), at: 4)
        let restored = try CampaignTask(restoring: Self.state(s), rules: .defaults)
        #expect(restored.encodeState() == task.encodeState())
        #expect(restored.restoreNotes == ["section loyalty_points: no such family in this release, dropped"])
    }

    /// A snapshot of a release without a family restores what it has and starts that family from
    /// the customers' facts: here, engagement's cold spells are what the facts say at the
    /// snapshot's time, and the fold continues with every rule firing.
    @Test func aFamilyMissingFromTheSnapshotStartsFromTheCustomersFacts() throws {
        let events = SnapshotTests.events
        let cut = events.count / 2
        let task = Self.folded(cut)
        for family in RuleSet.families {
            let s = Self.sections(task.encodeState()).filter { $0.name != family }
            var restored = try CampaignTask(restoring: Self.state(s), rules: .defaults)
            #expect(restored.restoreNotes == ["section \(family): not in the snapshot, started from the customers' facts"])
            var out: [Output] = []
            for e in events[cut...] { restored.apply(e, into: &out) }
            #expect(out.count > 100, "\(family)")
            if ["rf", "reanimation", "stage", "vip", "engagement"].contains(family) {
                // Their state is a function of the facts (and the ledger) at a wake-up: nothing lost.
                var whole = task
                var expected: [Output] = []
                for e in events[cut...] { whole.apply(e, into: &expected) }
                #expect(SnapshotTests.lines(out) == SnapshotTests.lines(expected), "\(family)")
            }
        }
    }

    @Test func aSectionOfANewerVersionOrWithBadBytesRefusesTheSnapshot() throws {
        let s = Self.sections(Self.folded(2000).encodeState())
        let views = try #require(s.firstIndex { $0.name == "views" })
        var newer = s
        newer[views].version = 3
        #expect(throws: SnapshotError("section views version 3, this build reads up to 2")) {
            try CampaignTask(restoring: Self.state(newer), rules: .defaults)
        }
        var longer = s
        longer[views].bytes.append(0)
        #expect(throws: SnapshotError("section views: 1 unexpected bytes")) {
            try CampaignTask(restoring: Self.state(longer), rules: .defaults)
        }
        var shorter = s
        shorter[views].bytes.removeLast(3)
        #expect(throws: SnapshotError.self) { try CampaignTask(restoring: Self.state(shorter), rules: .defaults) }
        var twice = s
        twice.append(s[views])
        #expect(throws: SnapshotError("section views twice")) { try CampaignTask(restoring: Self.state(twice), rules: .defaults) }
        #expect(throws: SnapshotError("no core section first")) {
            try CampaignTask(restoring: Self.state(Array(s.dropFirst())), rules: .defaults)
        }
    }

    /// The core and views sections hold the customers' record bytes as the task keeps them: a
    /// record whose bytes were changed is refused or read as some other record, never read past
    /// its end or trusted with a product or rule that is not there.
    @Test func changedRecordBytesAreRefusedOrReadButNeverCrashTheRestore() throws {
        let s = Self.sections(Self.folded(600).encodeState())
        var refused = 0, read = 0
        for name in ["core", "views"] {
            let k = try #require(s.firstIndex { $0.name == name })
            for i in stride(from: 0, to: s[k].bytes.count, by: 17) {
                for flip: UInt8 in [0x01, 0xff] {
                    var changed = s
                    changed[k].bytes[i] ^= flip
                    do {
                        var task = try CampaignTask(restoring: Self.state(changed), rules: .defaults)
                        var out: [Output] = []
                        for e in SnapshotTests.events[600..<700] { task.apply(e, into: &out) }
                        read += 1
                    } catch {
                        refused += 1
                    }
                }
            }
        }
        #expect(refused > 20 && read > 20)
    }

    @Test func anUnknownStateFormatIsRefused() {
        var bytes = Self.folded(100).encodeState()
        bytes[0] = 3
        #expect(throws: SnapshotError("state format 3, this build reads 1 and 2")) {
            try CampaignTask(restoring: bytes, rules: .defaults)
        }
    }
}

import Foundation
import RekindleCore
@testable import RekindleRuntime
import Testing

/// Spec 7.3's erasure end to end: `rekindle erase` against the embedded broker, a live run that
/// applies it, its snapshots searched for the id, and tombstones on the output topics.
@Suite(.serialized) struct ErasureRunTests {
    @Test func anErasedCustomerIsGoneFromTheLiveSnapshotsAndTheOutputTopicsGetTombstones() throws {
        let (broker, bootstrap) = try KcatTests.startBroker(partitions: 2)
        defer { broker.terminate(); broker.waitUntilExit() }
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let events = dir.appendingPathComponent("events.jsonl").path
        let victim = "forget-me-8d1c"
        let lines = [
            #"{"type":"product_view","event_id":"v1","customer_id":"\#(victim)","product_id":"p1","occurred_at":"2026-01-01T00:00:00Z"}"#,
            #"{"type":"order","event_id":"o1","customer_id":"\#(victim)","order_id":"ord-\#(victim)","status":"completed","total":12.5,"occurred_at":"2026-01-01T02:00:00Z"}"#,
            #"{"type":"product_view","event_id":"v2","customer_id":"stays","product_id":"p1","occurred_at":"2026-01-01T00:00:00Z"}"#,
            #"{"type":"product_view","event_id":"v3","customer_id":"\#(victim)","product_id":"p2","occurred_at":"2026-01-05T00:00:00Z"}"#,
            #"{"type":"product_view","event_id":"v4","customer_id":"stays","product_id":"p3","occurred_at":"2026-01-06T00:00:00Z"}"#,
        ]
        try (lines.joined(separator: "\n") + "\n").write(toFile: events, atomically: true, encoding: .utf8)
        #expect(try CLI.rekindle(["produce", "--bootstrap", bootstrap, "--input", events]).status == 0)
        // Applied in event time: before the view of day 5's touch (due an hour after it).
        let erase = try CLI.rekindle(["erase", "--bootstrap", bootstrap, "--customer", victim, "--at", "2026-01-05T00:30:00Z", "--tombstones"])
        #expect(erase.status == 0, "\(erase.stderr)")
        #expect(erase.stderr.contains("tombstones on campaign-triggers, campaign-conversions, campaign-withheld"))

        let snapshots = dir.appendingPathComponent("snapshots").path
        let run = try CLI.rekindle([
            "run", "--bootstrap", bootstrap, "--group-id", "erase-test", "--http", "off", "--snapshot-dir", snapshots,
            "--stop-when-idle", "1",
        ])
        #expect(run.status == 0, "\(run.stderr.suffix(2000))")
        let triggers = try KillTests.topic(bootstrap, "campaign-triggers")
        #expect(triggers.contains { $0.contains(#""customer_id":"stays""#) })
        #expect(!triggers.contains { $0.contains(victim) && $0.contains("2026-01-05T01:00:00.000Z") }, "the touch after the erasure never fired")
        // The snapshot files hold nothing of theirs: not the id, not the order id.
        var files = 0
        for name in try FileManager.default.subpathsOfDirectory(atPath: snapshots) {
            guard let data = FileManager.default.contents(atPath: "\(snapshots)/\(name)"), !data.isEmpty else { continue }
            files += 1
            #expect(data.range(of: Data(victim.utf8)) == nil, "\(name) holds the erased id")
        }
        #expect(files > 0)
        // Tombstones: null values keyed by the id (kcat prints NULL for them).
        let keyed = try CLI.run(URL(fileURLWithPath: "/usr/bin/kcat"),
            ["-b", bootstrap, "-C", "-t", "campaign-triggers", "-e", "-q", "-f", "%k %S\\n"])
        #expect(keyed.stdout.split(separator: "\n").contains { $0 == "\(victim) -1" }, "\(keyed.stdout.suffix(500))")
    }
}

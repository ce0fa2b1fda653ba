import ArgumentParser
import Foundation
import RekindleCore
import RekindleKafka
import RekindleRuntime

/// Snapshot write and restore time, and bytes per customer, at a chosen number of customers.
struct SnapshotBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot", abstract: "Time encoding, writing and restoring one task snapshot of N customers.")

    @Option(name: .long, help: "Customers in the task.")
    var customers = 1_000_000

    func run() throws {
        // Each customer: a completed purchase of two products and a product view, so the state
        // holds facts, an order, a purchase, views, model counts and pending timers.
        var task = CampaignTask(rules: .defaults)
        var out: [Output] = []
        let clock = ContinuousClock()
        let base: Int64 = 1_767_225_600_000
        let folded = clock.measure {
            for i in 0..<customers {
                let id = "c\(i)"
                let t = base + Int64(i) * 10
                task.apply(Event(eventId: "o\(i)", customerId: id, occurredAt: t, body: .order(OrderEvent(
                    orderId: "o\(i)", status: .completed, total: 1990,
                    items: [OrderItem(productId: "p\(i % 500)"), OrderItem(productId: "p\((i * 7) % 500)")]))), into: &out)
                task.apply(Event(eventId: "v\(i)", customerId: id, occurredAt: t + 5, body: .productView(
                    ProductViewEvent(productId: "p\((i * 13) % 500)"))), into: &out)
                if out.count > 100_000 { out.removeAll(keepingCapacity: true) }
            }
        }
        print("folded \(customers) customers (\(2 * customers) events) in \(String(format: "%.2f", folded.seconds)) s")
        var state: [UInt8] = []
        let encode = clock.measure { state = task.encodeState() }
        let snapshot = TaskSnapshot(groupId: "bench", partition: 0, sequence: 1, rulesVersion: task.rules.hash, watermark: task.watermark,
                                    inputOffsets: [], outputOffsets: [], state: state)
        var bytes: [UInt8] = []
        let envelope = clock.measure { bytes = snapshot.encoded() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rekindle-snapbench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try DirectorySnapshotStore(directory: dir)
        let write = try clock.measure { try store.save(snapshot) }
        var restored: CampaignTask?
        let restore = try clock.measure {
            let read = try store.latestGood(group: "bench", task: 0)
            restored = try CampaignTask(restoring: read.snapshot!.state, rules: .defaults)
        }
        guard restored?.encodeState() == state else { throw UsageError(message: "restored state differs") }
        print("state encode        \(String(format: "%.3f", encode.seconds)) s")
        print("envelope (SHA-256)  \(String(format: "%.3f", envelope.seconds)) s")
        print("save (envelope, write, fsync, rename) \(String(format: "%.3f", write.seconds)) s")
        print("read + verify + restore \(String(format: "%.3f", restore.seconds)) s")
        print("snapshot size \(bytes.count) bytes = \(bytes.count / customers) bytes per customer")
    }
}

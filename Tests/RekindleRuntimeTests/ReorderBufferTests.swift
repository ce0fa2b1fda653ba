import RekindleCore
@testable import RekindleRuntime
import Testing

/// The reading stage's reorder buffer keeps events that arrive in order in a queue and only the
/// late ones in a heap: whatever the mix, each event it releases is the oldest waiting (ties in
/// arrival order), so what comes out is a stable sort by `occurred_at`.
@Suite struct ReorderBufferTests {
    static func event(_ n: Int, at t: Millis) -> SourcedEvent {
        SourcedEvent(
            event: Event(eventId: "\(n)", customerId: "c", occurredAt: t, body: .email(EmailEvent(clicked: false, messageId: "m"))),
            sequence: 0, origin: nil)
    }

    @Test(arguments: [0.0, 0.05, 0.5, 1.0])
    func eachReleasedEventIsTheOldestWaitingTiesInArrivalOrder(lateShare: Double) {
        var rng = SystemRandomNumberGenerator()
        var buffer = OrderedEventReader.ReorderBuffer()
        // The reference: what waits, as (time, arrival), in arrival order.
        var waiting: [(at: Millis, n: Int)] = []
        var clock: Millis = 1_000
        var released = 0
        func release() {
            let e = buffer.removeOldest()
            let oldest = waiting.indices.min { waiting[$0].at != waiting[$1].at ? waiting[$0].at < waiting[$1].at : waiting[$0].n < waiting[$1].n }
            #expect(e.map { Int($0.event.eventId) } == oldest.map { waiting[$0].n })
            if let oldest { waiting.remove(at: oldest) }
            released += 1
        }
        for n in 0..<3_000 {
            // Mostly forward in time, with ties; a share jumps back (a late, re-delivered line).
            let late = Double.random(in: 0..<1, using: &rng) < lateShare
            let t = late ? clock - Millis.random(in: 0...50, using: &rng) : clock + Millis.random(in: 0...2, using: &rng)
            clock = max(clock, t)
            waiting.append((t, n))
            buffer.insert(Self.event(n, at: t))
            #expect(buffer.count == waiting.count)
            #expect(buffer.oldest == waiting.map(\.at).min())
            if Int.random(in: 0..<3, using: &rng) == 0 { release() }
        }
        while !waiting.isEmpty { release() }
        #expect(buffer.count == 0 && buffer.removeOldest() == nil)
    }
}

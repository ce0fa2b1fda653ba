import Foundation
import Synchronization

/// `body(i)` for every `i` in `0..<count` on every core at once, each result in its own slot:
/// the results in index order, as a one-thread loop would give them. Tasks share nothing, so
/// the replay and the live loop fold theirs this way.
func concurrentMap<T: Sendable>(_ count: Int, _ body: @Sendable (Int) -> T) -> [T] {
    let slots = Mutex([T?](repeating: nil, count: count))
    DispatchQueue.concurrentPerform(iterations: count) { i in
        let result = body(i)
        slots.withLock { $0[i] = result }
    }
    return slots.withLock { $0.map { $0! } }
}

import DequeModule
import Foundation
import HeapModule
import RekindleCore

/// The reading stage of a streaming job (`rekindle replay` on one task, `rekindle backtest`):
/// reads event files line by line, decodes each line to an event or a dead letter, and puts the
/// events in `occurred_at` order (ties in input order) with a reorder buffer, handing them on in
/// batches. An event older than one already handed on needs the whole-input sort: the stage then
/// stops and says so (`unsorted`), and the caller reads the input again and sorts it whole.
struct OrderedEventReader: Sendable {
    /// Lines per batch handed on.
    var batchLines = 2048
    /// Events wait this long (in event time behind the newest seen) or until this many wait, to
    /// be put in order: a re-delivered line an hour late is sorted here, with no whole-input sort.
    var reorderWindowMs: Millis = 6 * millisPerHour
    var maxPending = 500_000
    /// Inputs that are pipes, by path: read from the open pipe and copied as they stream.
    var pipes: [String: PipeCopy] = [:]
    var checks = InputChecks()

    struct Batch: Sendable {
        var events: [SourcedEvent] = []
        var deadLetters: [DeadLetter] = []
    }

    /// Reads `paths` in order, calling `send` with each batch (in order) until it returns false
    /// (the consumer stopped). Returns false when the input was found unsorted: the batches sent
    /// so far are not a prefix of the sorted input.
    func read(paths: [String], progress: Progress?, send: (Batch) -> Bool) throws -> Bool {
        var batch = Batch()
        var lines = 0
        var pending = ReorderBuffer()
        var newest = Millis.min, released = Millis.min
        var unsorted = false
        func flush() -> Bool {
            defer { batch = Batch() }
            return send(batch)
        }
        for path in paths {
            let name = InputFile.name(path)
            var stopped = false
            var lineReader = LineReader()
            lineReader.copy = pipes[path]?.copy
            func onEachLine(_ read: ReadLine, _ line: Int) -> Bool {
                switch EventFileReader.decodeLine(read, name: name, line: line, checks: checks) {
                case .event(let e, let origin):
                    // Older than an event already passed on: only the full sort can order it.
                    guard e.occurredAt >= released else {
                        unsorted = true
                        stopped = true
                        return false
                    }
                    pending.insert(SourcedEvent(event: e, sequence: 0, origin: origin))
                    newest = max(newest, e.occurredAt)
                    while let first = pending.oldest, newest - first > reorderWindowMs || pending.count > maxPending {
                        released = first
                        batch.events.append(pending.removeOldest()!)
                    }
                case .bad(let d): batch.deadLetters.append(d)
                case .blank: return true
                }
                lines += 1
                if lines % 100_000 == 0 { progress?.update("read \(lines) lines") }
                if batch.events.count + batch.deadLetters.count >= batchLines {
                    guard flush() else { stopped = true; return false }
                }
                return true
            }
            if let pipe = pipes[path] {
                try lineReader.forEachLine(fd: pipe.openInput(), path: path, onEachLine)
            } else {
                try lineReader.forEachLine(path: path, onEachLine)
            }
            if stopped { return !unsorted }
        }
        while let e = pending.removeOldest() { batch.events.append(e) }
        _ = flush()
        return true
    }

    /// A waiting event's place in the order; the event itself stays put in `ReorderBuffer.slots`
    /// (moving whole events up and down the heap showed in profiles).
    struct Pending: Comparable {
        var at: Millis
        var sequence: Int
        var slot: Int32
        static func < (a: Pending, b: Pending) -> Bool { a.at != b.at ? a.at < b.at : a.sequence < b.sequence }
        static func == (a: Pending, b: Pending) -> Bool { a.at == b.at && a.sequence == b.sequence }
    }

    /// Events waiting to be put in `occurred_at` order (ties in arrival order). Most input is in
    /// order already: an event at or after the last in `run` joins its end (a queue, in order by
    /// construction), and only one older than that goes to the heap. The oldest waiting is the
    /// first of either. The heap's inserts and removals were most of the reading stage's own work.
    struct ReorderBuffer {
        var run = Deque<(at: Millis, sequence: Int, event: SourcedEvent)>()
        var heap = Heap<Pending>()
        var slots: [SourcedEvent?] = []
        var free: [Int32] = []
        var sequence = 0

        var count: Int { run.count + heap.count }
        var oldest: Millis? {
            switch (run.first?.at, heap.min?.at) {
            case (let a?, let b?): return min(a, b)
            case (let a, let b): return a ?? b
            }
        }

        mutating func insert(_ e: SourcedEvent) {
            defer { sequence += 1 }
            let at = e.event.occurredAt
            if let last = run.last?.at, at < last {
                let slot: Int32
                if let k = free.popLast() {
                    slot = k
                    slots[Int(k)] = e
                } else {
                    slot = Int32(slots.count)
                    slots.append(e)
                }
                heap.insert(Pending(at: at, sequence: sequence, slot: slot))
            } else {
                run.append((at, sequence, e))
            }
        }

        mutating func removeOldest() -> SourcedEvent? {
            if let p = heap.min, run.first.map({ ($0.at, $0.sequence) > (p.at, p.sequence) }) ?? true {
                _ = heap.popMin()
                let e = slots[Int(p.slot)].take()
                free.append(p.slot)
                return e
            }
            return run.popFirst()?.event
        }
    }
}

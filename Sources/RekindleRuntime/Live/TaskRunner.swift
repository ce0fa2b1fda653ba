import DequeModule
import RekindleKafka
import RekindleCore

/// Task `k` of spec section 4: partition `k` of the three input topics, merged by
/// `occurred_at` (ties: orders, product-views, email-opens, then offset), folded by one
/// `CampaignTask`. A partition read to its end does not hold the merge back.
///
/// A reference: the engine reads its tasks many times a batch (idle, watermark, offsets), and a
/// copy of the struct retained every buffer the task holds (7% of a live run's time). The engine
/// serialises access, and during the parallel fold each task is given to exactly one worker.
final class TaskRunner: @unchecked Sendable {
    struct Input: Sendable {
        var assigned = false
        var atEnd = false
        /// Validated messages waiting for the merge, and beside them each one's `occurred_at` (nil:
        /// a bad input), so that the merge compares heads without copying them.
        private(set) var buffer = Deque<InputMessage>()
        private(set) var times = Deque<Millis?>()
        /// The next offset to commit: one past the last message folded or dead-lettered.
        var nextOffset: Int64?
        var committed: Int64?

        init(assigned: Bool = false) { self.assigned = assigned }

        mutating func append(_ m: InputMessage) {
            times.append(m.occurredAt)
            buffer.append(m)
        }

        mutating func append(contentsOf ms: [InputMessage]) {
            times.append(contentsOf: ms.lazy.map(\.occurredAt))
            buffer.append(contentsOf: ms)
        }

        /// Takes the head off, moved out, not copied.
        mutating func removeFirst() -> InputMessage {
            times.removeFirst()
            return buffer.removeFirst()
        }
    }

    let partition: Int32
    var task: CampaignTask
    var inputs = [Input](repeating: Input(), count: Topic.allCases.count)
    /// Messages consumed since the last fold, in arrival order, not yet validated.
    var inbox: [(Topic, ConsumedMessage)] = []
    /// The sequence number of the task's last snapshot.
    var sequence: UInt64 = 0

    convenience init(partition: Int32, rules: RuleSet, allowedLatenessMs: Millis) {
        self.init(partition: partition, task: CampaignTask(rules: rules, allowedLatenessMs: allowedLatenessMs))
    }

    init(partition: Int32, task: CampaignTask) {
        self.partition = partition
        self.task = task
    }

    var hasAssignedInput: Bool { inputs.contains { $0.assigned } }

    /// Caught up on every assigned partition, with nothing left to merge.
    var isIdle: Bool { inputs.allSatisfy { !$0.assigned || ($0.atEnd && $0.buffer.isEmpty) } }


    /// What one task's fold of a batch gave.
    struct Folded: Sendable {
        /// The outputs with their messages, made here on the task's core.
        var out: LiveEngine.TaskOutput
        var deadLetters: [(DeadLetter, [UInt8]?, InputError.Kind)] = []
        var folded = 0
        var late = 0
    }

    /// Validates each task's inbox and folds what its merge can take, the tasks on every core at
    /// once: they share nothing. Results are in the order of `runners`, so the caller's output
    /// order is that of a one-thread loop over them.
    static func foldInParallel(_ runners: [TaskRunner], maxFutureSkewMs: Millis, topics: TopicNames) -> [Folded] {
        // At most one task with messages: no threads to wake.
        if runners.lazy.filter({ !$0.inbox.isEmpty }).count < 2 {
            return runners.map { $0.fold(maxFutureSkewMs: maxFutureSkewMs, topics: topics) }
        }
        return concurrentMap(runners.count) { runners[$0].fold(maxFutureSkewMs: maxFutureSkewMs, topics: topics) }
    }

    /// Validates the inbox into the inputs' buffers, then drains.
    func fold(maxFutureSkewMs: Millis, topics: TopicNames) -> Folded {
        for (topic, m) in inbox {
            inputs[topic.rawValue].append(InputMessage.validate(m, topic: topic, maxFutureSkewMs: maxFutureSkewMs))
        }
        inbox.removeAll(keepingCapacity: true)
        var out: [Output] = []
        var deadLetters: [(DeadLetter, [UInt8]?, InputError.Kind)] = []
        let before = task.stats.lateEvents
        var folded = 0
        drain(into: &out, deadLetters: &deadLetters) { _ in folded += 1 }
        // The trigger ids (SHA-256), the outputs' JSON and keys here, on this task's core, not on
        // the loop's one thread that produces the outputs.
        return Folded(out: LiveEngine.TaskOutput(task: partition, outputs: out, topics: topics), deadLetters: deadLetters,
                      folded: folded, late: task.stats.lateEvents - before)
    }

    /// Folds every message the merge can take now. Bad inputs go out as they reach the head of
    /// their partition (they have no time to wait for).
    func drain(into out: inout [Output], deadLetters: inout [(DeadLetter, [UInt8]?, InputError.Kind)],
                        applied: (Topic) -> Void) {
        while true {
            for k in inputs.indices {
                while case .some(nil) = inputs[k].times.first {
                    guard case .bad(let letter, let key, let kind, let offset) = inputs[k].removeFirst() else { preconditionFailure("a bad input's time is nil") }
                    deadLetters.append((letter, key, kind))
                    inputs[k].nextOffset = offset + 1
                }
            }
            // The earliest head by time alone (ties: the earlier topic); bad inputs are gone.
            var best: (k: Int, time: Millis)?
            for k in inputs.indices where inputs[k].assigned {
                guard let head = inputs[k].times.first else {
                    if inputs[k].atEnd { continue }
                    return  // this partition may still deliver an earlier event
                }
                if let time = head, best == nil || time < best!.time { best = (k, time) }
            }
            guard let pick = best else { return }
            guard case .event(let event, let offset, let message) = inputs[pick.k].removeFirst() else { preconditionFailure("an event's time is not nil") }
            inputs[pick.k].nextOffset = offset + 1
            if let refusal = task.apply(event, into: &out) {
                let letter = InputMessage.deadLetter(message, refusal)
                deadLetters.append((letter, message.key, refusal.kind))
            } else {
                applied(Topic.allCases[pick.k])
            }
        }
    }
}

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
        var buffer = Deque<InputMessage>()
        /// The next offset to commit: one past the last message folded or dead-lettered.
        var nextOffset: Int64?
        var committed: Int64?
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
        var out: [Output] = []
        /// Each output's wire form, made here on the task's core (`json`, beside `out`).
        var json: [[UInt8]] = []
        var deadLetters: [(DeadLetter, [UInt8]?, InputError.Kind)] = []
        var folded = 0
        var late = 0
    }

    /// Validates each task's inbox and folds what its merge can take, the tasks on every core at
    /// once: they share nothing. Results are in the order of `runners`, so the caller's output
    /// order is that of a one-thread loop over them.
    static func foldInParallel(_ runners: [TaskRunner], maxFutureSkewMs: Millis) -> [Folded] {
        // At most one task with messages: no threads to wake.
        if runners.lazy.filter({ !$0.inbox.isEmpty }).count < 2 {
            return runners.map { $0.fold(maxFutureSkewMs: maxFutureSkewMs) }
        }
        return concurrentMap(runners.count) { runners[$0].fold(maxFutureSkewMs: maxFutureSkewMs) }
    }

    /// Validates the inbox into the inputs' buffers, then drains.
    func fold(maxFutureSkewMs: Millis) -> Folded {
        for (topic, m) in inbox {
            inputs[topic.rawValue].buffer.append(InputMessage.validate(m, topic: topic, maxFutureSkewMs: maxFutureSkewMs))
        }
        inbox.removeAll(keepingCapacity: true)
        var result = Folded()
        let before = task.stats.lateEvents
        var folded = 0
        drain(into: &result.out, deadLetters: &result.deadLetters) { _ in folded += 1 }
        // The trigger ids (SHA-256) and the outputs' JSON here, on this task's core, not on the
        // loop's one thread that produces the outputs.
        for k in result.out.indices { result.out[k].settleId() }
        result.json = result.out.map(\.json)
        result.folded = folded
        result.late = task.stats.lateEvents - before
        return result
    }

    /// Folds every message the merge can take now. Bad inputs go out as they reach the head of
    /// their partition (they have no time to wait for).
    func drain(into out: inout [Output], deadLetters: inout [(DeadLetter, [UInt8]?, InputError.Kind)],
                        applied: (Topic) -> Void) {
        while true {
            for k in inputs.indices {
                while case .bad(let letter, let key, let kind, let offset)? = inputs[k].buffer.first {
                    deadLetters.append((letter, key, kind))
                    inputs[k].nextOffset = offset + 1
                    inputs[k].buffer.removeFirst()
                }
            }
            var best: (k: Int, event: Event, offset: Int64, message: ConsumedMessage)?
            for k in inputs.indices where inputs[k].assigned {
                guard let head = inputs[k].buffer.first else {
                    if inputs[k].atEnd { continue }
                    return  // this partition may still deliver an earlier event
                }
                guard case .event(let e, let offset, let message) = head else { continue }
                if best == nil || e.occurredAt < best!.event.occurredAt { best = (k, e, offset, message) }
            }
            guard let pick = best else { return }
            inputs[pick.k].buffer.removeFirst()
            inputs[pick.k].nextOffset = pick.offset + 1
            if let refusal = task.apply(pick.event, into: &out) {
                let letter = InputMessage.deadLetter(pick.message, refusal)
                deadLetters.append((letter, pick.message.key, refusal.kind))
            } else {
                applied(Topic.allCases[pick.k])
            }
        }
    }
}

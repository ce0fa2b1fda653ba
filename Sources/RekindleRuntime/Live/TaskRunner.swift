import DequeModule
import RekindleKafka
import RekindleCore

/// Task `k` of spec section 4: partition `k` of the three input topics, merged by
/// `occurred_at` (ties: orders, product-views, email-opens, then offset), folded by one
/// `CampaignTask`. A partition read to its end does not hold the merge back.
struct TaskRunner: Sendable {
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
    /// The sequence number of the task's last snapshot.
    var sequence: UInt64 = 0

    init(partition: Int32, rules: RuleSet, allowedLatenessMs: Millis) {
        self.init(partition: partition, task: CampaignTask(rules: rules, allowedLatenessMs: allowedLatenessMs))
    }

    init(partition: Int32, task: CampaignTask) {
        self.partition = partition
        self.task = task
    }

    var hasAssignedInput: Bool { inputs.contains { $0.assigned } }

    /// Caught up on every assigned partition, with nothing left to merge.
    var isIdle: Bool { inputs.allSatisfy { !$0.assigned || ($0.atEnd && $0.buffer.isEmpty) } }


    /// Folds every message the merge can take now. Bad inputs go out as they reach the head of
    /// their partition (they have no time to wait for).
    mutating func drain(into out: inout [Output], deadLetters: inout [(DeadLetter, [UInt8]?, InputError.Kind)],
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

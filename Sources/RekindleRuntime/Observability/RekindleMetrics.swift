import Prometheus
import RekindleCore
import Synchronization

/// The Prometheus metrics of one `rekindle run` process (spec section 5, Observability).
///
/// Each instance owns its own `PrometheusCollectorRegistry`; nothing is bootstrapped into the
/// global `MetricsSystem`, so tests (and several runners in one process) can each have their own.
/// All methods are thread-safe: the consumer thread updates while the HTTP server renders.
///
/// Labelled series are created on first use and cached here, so the hot path (`eventIn` per
/// message) is one lock, one dictionary lookup and one atomic add.
public final class RekindleMetrics: Sendable {
    /// The registry everything is rendered from. Exposed so a caller can add metrics of its own;
    /// names must not clash with the ones below (the library traps on a type or HELP mismatch).
    public let registry: PrometheusCollectorRegistry

    private let eventsProcessedTotal: Counter
    private let assignedTasks: Gauge
    private let snapshotDurations: ValueHistogram
    private let snapshotsRejectedTotal: Counter
    private let snapshotWriteFailuresTotal: Counter
    private let outputsSuppressedTotal: Counter
    private let triggerDelays: ValueHistogram
    private let ready: Gauge
    private let series = Mutex(Series())

    private struct TopicPartition: Hashable {
        var topic: String
        var partition: Int
    }

    private struct TopicReason: Hashable {
        var topic: String
        var reason: String
    }

    /// Series created so far, keyed by their label values.
    private struct Series {
        var eventsIn: [String: Counter] = [:]
        var badInputs: [TopicReason: Counter] = [:]
        var triggers: [String: Counter] = [:]
        var conversions: [String: Counter] = [:]
        var withheld: [TopicReason: Counter] = [:]
        var liftCustomers: [TopicReason: Counter] = [:]
        var liftConverted: [TopicReason: Counter] = [:]
        var liftRevenue: [TopicReason: Counter] = [:]
        var lateEvents: [Int: Counter] = [:]
        var lag: [TopicPartition: Gauge] = [:]
        var watermarkDelay: [Int: Gauge] = [:]
        var customers: [Int: Gauge] = [:]
        var pendingTimers: [Int: Gauge] = [:]
        var snapshotAge: [Int: Gauge] = [:]
    }

    // Names and HELP texts. One place, so a name is never registered with two different texts.
    enum Name {
        static let eventsIn = "rekindle_events_in_total"
        static let badInputs = "rekindle_bad_inputs_total"
        static let triggers = "rekindle_triggers_total"
        static let conversions = "rekindle_conversions_total"
        static let withheld = "rekindle_withheld_total"
        static let liftCustomers = "rekindle_experiment_customers_total"
        static let liftConverted = "rekindle_experiment_converted_customers_total"
        static let liftRevenue = "rekindle_experiment_revenue_cents_total"
        static let lateEvents = "rekindle_late_events_total"
        static let lag = "rekindle_consumer_lag"
        static let watermarkDelay = "rekindle_watermark_delay_seconds"
        static let customers = "rekindle_state_customers"
        static let pendingTimers = "rekindle_state_pending_timers"
        static let eventsProcessed = "rekindle_events_processed_total"
        static let assignedTasks = "rekindle_assigned_tasks"
        static let snapshotAge = "rekindle_snapshot_age_seconds"
        static let snapshotDuration = "rekindle_snapshot_duration_seconds"
        static let snapshotsRejected = "rekindle_snapshots_rejected_total"
        static let snapshotWriteFailures = "rekindle_snapshot_write_failures_total"
        static let outputsSuppressed = "rekindle_recovery_outputs_suppressed_total"
        static let triggerDelay = "rekindle_trigger_delay_seconds"
        static let ready = "rekindle_ready"
    }

    /// Every metric name this type exports (a histogram's series add `_bucket`, `_sum` and
    /// `_count`), for checking that dashboards and alerts ask only for what exists.
    public static let names: [String] = [
        Name.eventsIn, Name.badInputs, Name.triggers, Name.conversions, Name.lateEvents, Name.lag, Name.watermarkDelay,
        Name.customers, Name.pendingTimers, Name.eventsProcessed, Name.assignedTasks, Name.snapshotAge,
        Name.snapshotDuration, Name.snapshotsRejected, Name.snapshotWriteFailures, Name.outputsSuppressed,
        Name.triggerDelay, Name.ready,
    ]

    enum Help {
        static let eventsIn = "Input records read, by input topic."
        static let badInputs = "Input records that could not be used and went to the dead-letter topic, by topic and reason."
        static let triggers = "Triggers emitted, by rule."
        static let conversions = "Conversions attributed to an earlier trigger, by rule."
        static let withheld = "Touches decided but withheld (to the withheld topic), by rule and reason (holdout, global_control, cap, no_consent)."
        static let liftCustomers = "Customers whose first touch of the rule was sent (group treated) or held out (group control), by rule."
        static let liftConverted = "Of those customers, the ones who completed a purchase within that touch's conversion window, by rule and group."
        static let liftRevenue = "Revenue of those purchases, in cents, by rule and group."
        static let lateEvents = "Events that arrived behind the watermark, by task (partition)."
        static let lag = "Messages between the consumer position and the end of the partition."
        static let watermarkDelay = "How far the task's event-time watermark is behind wall-clock time, in seconds."
        static let customers = "Customers held in the task's state."
        static let pendingTimers = "Timers waiting to fire in the task's state."
        static let eventsProcessed = "Input records folded into state, all tasks together."
        static let assignedTasks = "Tasks (input partitions) currently assigned to this instance."
        static let snapshotAge = "Seconds since the task's last successful snapshot."
        static let snapshotDuration = "Time taken to write one task snapshot, in seconds."
        static let snapshotsRejected = "Snapshots refused on restore: corrupt, truncated, of an unknown format, or of another consumer group or task (an older one was used)."
        static let snapshotWriteFailures = "Task snapshots that could not be written (the run ends after --snapshot-failure-limit in a row)."
        static let outputsSuppressed = "Outputs a recovering task re-derived and did not produce again, because they were already on their topic."
        static let triggerDelay = "Wall-clock time from a trigger's firing instant (event time) to its delivery to the triggers topic: the event-to-trigger latency when live, the age of the history while catching up."
        static let ready = "1 when the instance has its tasks and each has caught up with its partitions (/health answers 200), else 0."
    }

    /// Buckets for `rekindle_snapshot_duration_seconds`: 1 ms to 30 s.
    public static let snapshotDurationBuckets: [Double] = [
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
    ]

    /// Buckets for `rekindle_trigger_delay_seconds`: 5 ms to an hour (catch-up lands above).
    public static let triggerDelayBuckets: [Double] = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600,
    ]

    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        eventsProcessedTotal = registry.makeCounter(
            descriptor: Self.descriptor(Name.eventsProcessed, Help.eventsProcessed))
        assignedTasks = registry.makeGauge(descriptor: Self.descriptor(Name.assignedTasks, Help.assignedTasks))
        snapshotDurations = registry.makeValueHistogram(
            descriptor: Self.descriptor(Name.snapshotDuration, Help.snapshotDuration),
            buckets: Self.snapshotDurationBuckets)
        snapshotsRejectedTotal = registry.makeCounter(
            descriptor: Self.descriptor(Name.snapshotsRejected, Help.snapshotsRejected))
        snapshotWriteFailuresTotal = registry.makeCounter(
            descriptor: Self.descriptor(Name.snapshotWriteFailures, Help.snapshotWriteFailures))
        outputsSuppressedTotal = registry.makeCounter(
            descriptor: Self.descriptor(Name.outputsSuppressed, Help.outputsSuppressed))
        triggerDelays = registry.makeValueHistogram(
            descriptor: Self.descriptor(Name.triggerDelay, Help.triggerDelay), buckets: Self.triggerDelayBuckets)
        ready = registry.makeGauge(descriptor: Self.descriptor(Name.ready, Help.ready))
    }

    /// One snapshot that could not be used on restore.
    public func snapshotRejected() { snapshotsRejectedTotal.increment() }

    /// One task snapshot that could not be written.
    public func snapshotWriteFailed() { snapshotWriteFailuresTotal.increment() }

    /// Outputs already on their topics that a recovering task did not produce again.
    public func outputsSuppressed(_ n: Int) { outputsSuppressedTotal.increment(by: Int64(n)) }

    // MARK: Counters

    /// One input record read from `topic`.
    public func eventIn(topic: String) {
        counter(\.eventsIn, topic, Name.eventsIn, [("topic", topic)], Help.eventsIn).increment()
    }

    /// One bad input record from `topic`; `reason` is a short kind such as "invalid_json",
    /// "missing_field", "wrong_type", "bad_time", "unknown_type", "unknown_status", "too_large",
    /// "invalid_utf8", "key_mismatch", "wrong_topic" or "other". Keep the set small and fixed:
    /// every distinct value is a new time series.
    public func badInput(topic: String, reason: String) {
        counter(
            \.badInputs, TopicReason(topic: topic, reason: reason), Name.badInputs,
            [("topic", topic), ("reason", reason)], Help.badInputs
        ).increment()
    }

    /// One trigger emitted by `rule`.
    public func trigger(rule: String) {
        counter(\.triggers, rule, Name.triggers, [("rule", rule)], Help.triggers).increment()
    }

    /// One touch of `rule` withheld for `reason`.
    public func withheld(rule: String, reason: String) {
        counter(\.withheld, TopicReason(topic: rule, reason: reason), Name.withheld, [("rule", rule), ("reason", reason)], Help.withheld)
            .increment()
    }

    /// What a rule's experiment arm (`group`: treated or control) gained since `before`.
    public func lift(rule: String, group: String, now: LiftCounts.Arm, before: LiftCounts.Arm) {
        let key = TopicReason(topic: rule, reason: group)
        let labels = [("rule", rule), ("group", group)]
        if now.customers > before.customers {
            counter(\.liftCustomers, key, Name.liftCustomers, labels, Help.liftCustomers).increment(by: Int64(now.customers - before.customers))
        }
        if now.converted > before.converted {
            counter(\.liftConverted, key, Name.liftConverted, labels, Help.liftConverted).increment(by: Int64(now.converted - before.converted))
        }
        if now.revenueCents > before.revenueCents {
            counter(\.liftRevenue, key, Name.liftRevenue, labels, Help.liftRevenue).increment(by: now.revenueCents - before.revenueCents)
        }
    }

    /// One conversion attributed to a trigger of `rule`.
    public func conversion(rule: String) {
        counter(\.conversions, rule, Name.conversions, [("rule", rule)], Help.conversions).increment()
    }

    /// One event behind the watermark in `task`.
    public func lateEvent(task: Int) {
        counter(\.lateEvents, task, Name.lateEvents, [("task", String(task))], Help.lateEvents).increment()
    }

    /// `n` more records folded into state (any task). Prometheus computes the rate.
    public func eventsProcessed(_ n: Int) {
        guard n > 0 else { return }
        eventsProcessedTotal.increment(by: Int64(n))
    }

    // MARK: Gauges

    /// Consumer lag of one input partition, in messages.
    public func setLag(topic: String, partition: Int, messages: Int64) {
        gauge(
            \.lag, TopicPartition(topic: topic, partition: partition), Name.lag,
            [("topic", topic), ("partition", String(partition))], Help.lag
        ).set(Double(messages))
    }

    /// Watermark delay of `task` (wall clock minus watermark), given in milliseconds and
    /// exported in seconds. Non-finite values are ignored.
    public func setWatermarkDelay(task: Int, milliseconds: Double) {
        guard milliseconds.isFinite else { return }
        gauge(\.watermarkDelay, task, Name.watermarkDelay, [("task", String(task))], Help.watermarkDelay)
            .set(milliseconds / 1000)
    }

    /// Size of `task`'s state.
    public func setStateSize(task: Int, customers: Int, pendingTimers: Int) {
        let labels = [("task", String(task))]
        gauge(\.customers, task, Name.customers, labels, Help.customers).set(Double(customers))
        gauge(\.pendingTimers, task, Name.pendingTimers, labels, Help.pendingTimers).set(Double(pendingTimers))
    }

    /// How many tasks this instance owns now.
    public func setAssignedTasks(_ n: Int) {
        assignedTasks.set(Double(n))
    }

    /// Seconds since `task`'s last good snapshot (spec section 5: snapshot age). Non-finite
    /// values are ignored.
    public func setSnapshotAge(task: Int, seconds: Double) {
        guard seconds.isFinite else { return }
        gauge(\.snapshotAge, task, Name.snapshotAge, [("task", String(task))], Help.snapshotAge).set(seconds)
    }

    /// One snapshot written in `seconds` (spec section 5: snapshot duration). A histogram over
    /// all tasks, so it survives `removeTask`.
    public func snapshotWritten(seconds: Double) {
        guard seconds.isFinite, seconds >= 0 else { return }
        snapshotDurations.record(seconds)
    }

    /// One trigger delivered `seconds` after its firing instant. An instant ahead of the wall
    /// clock (a client's clock, within --max-future-skew-ms) counts as 0.
    public func triggerDelivered(delaySeconds seconds: Double) {
        guard seconds.isFinite else { return }
        triggerDelays.record(max(0, seconds))
    }

    /// Whether the instance is ready (what `/health` says).
    public func setReady(_ isReady: Bool) {
        ready.set(isReady ? 1.0 : 0.0)
    }

    // MARK: Task lifecycle

    /// Drops every per-task series of `task` (late events, watermark delay, state size,
    /// snapshot age) when the task is revoked, so a moved task is reported by its new owner only.
    /// Per-partition lag is keyed by topic and partition, not task: drop it with `removeLag`.
    public func removeTask(_ task: Int) {
        series.withLock { s in
            if let c = s.lateEvents.removeValue(forKey: task) { registry.unregisterCounter(c) }
            for key in [\Series.watermarkDelay, \.customers, \.pendingTimers, \.snapshotAge] as [WritableKeyPath<Series, [Int: Gauge]>] {
                if let g = s[keyPath: key].removeValue(forKey: task) { registry.unregisterGauge(g) }
            }
        }
    }

    /// Drops the lag series of one partition (when it is revoked).
    public func removeLag(topic: String, partition: Int) {
        series.withLock { s in
            if let g = s.lag.removeValue(forKey: TopicPartition(topic: topic, partition: partition)) {
                registry.unregisterGauge(g)
            }
        }
    }

    // MARK: Rendering

    /// All metrics in the Prometheus text exposition format (version 0.0.4).
    public func render() -> String {
        registry.emitToString()
    }

    /// `render()` as UTF-8 bytes.
    public func renderBytes() -> [UInt8] {
        registry.emitToBuffer()
    }

    // MARK: Private

    /// The full name goes in `metricName`; an empty unit adds no suffix.
    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    private func counter<Key: Hashable>(
        _ path: WritableKeyPath<Series, [Key: Counter]>, _ key: Key, _ name: String,
        _ labels: @autoclosure () -> [(String, String)], _ help: String
    ) -> Counter {
        series.withLock { s in
            if let c = s[keyPath: path][key] { return c }
            let c = registry.makeCounter(descriptor: Self.descriptor(name, help), labels: labels())
            s[keyPath: path][key] = c
            return c
        }
    }

    private func gauge<Key: Hashable>(
        _ path: WritableKeyPath<Series, [Key: Gauge]>, _ key: Key, _ name: String,
        _ labels: @autoclosure () -> [(String, String)], _ help: String
    ) -> Gauge {
        series.withLock { s in
            if let g = s[keyPath: path][key] { return g }
            let g = registry.makeGauge(descriptor: Self.descriptor(name, help), labels: labels())
            s[keyPath: path][key] = g
            return g
        }
    }
}

import RekindleCore
/// A seeded, reproducible stream of shop events for demos, tests and benchmarks
/// (`rekindle generate`): orders, product views and email opens/clicks of a mix of customer
/// personas (see `CustomerPersona`), in one stream whose `type` says which topic each line is for.
public enum SyntheticStream {
    /// Calls `emit` once per line (no trailing newline), events in occurred_at order
    /// (bad lines interleaved at random positions). Same options => same lines, byte for byte.
    ///
    /// About 0.5% of events are re-delivered: the identical line appears again seconds to an
    /// hour later in the stream, as at-least-once delivery does, so only those lines break the
    /// occurred_at order.
    public static func generate(_ options: GeneratorOptions, emit: (String) -> Void) {
        let start = options.start
        let days = Int64(max(0, min(options.days, 100_000)))
        let end = start + days * 86_400_000
        guard options.customers > 0, end > start else { return }

        let catalog = ProductCatalog(products: options.products, seed: options.seed, popularity: options.popularity)
        let schedule = EmailSchedule(start: start, end: end)
        var sink = EventSink(start: start, end: end)
        for number in 1...options.customers {
            var script = CustomerScript(
                number: number, seed: options.seed, catalog: catalog, schedule: schedule,
                start: start, end: end)
            script.returningShare = options.returningBrowserShare
            script.run(into: &sink)
        }
        addBadLines(options, customers: options.customers, &sink)
        sink.sortKeys()

        var line = EventLine(catalog: catalog, items: sink.items)
        for key in sink.keys {
            let event = sink.events[Int(key.index)]
            if event.kind == .bad {
                BadLineKind.render(event, into: &line)
            } else {
                line.render(event)
            }
            emit(String(decoding: line.bytes, as: UTF8.self))
        }
    }

    /// Adds bad lines so that they make up `badFraction` of the output, at random times.
    private static func addBadLines(
        _ options: GeneratorOptions, customers: Int,
        _ sink: inout EventSink
    ) {
        let fraction = options.badFraction.isNaN ? 0 : min(0.9, max(0, options.badFraction))
        guard fraction > 0 else { return }
        let good = Double(sink.keys.count)
        let count = Int((good * fraction / (1 - fraction)).rounded())
        var rng = SplitMix64(seed: options.seed, stream: 0xBAD1_1E5)
        for _ in 0..<count {
            let kind = BadLineKind.allCases[rng.below(BadLineKind.allCases.count)]
            let customer = UInt32(truncatingIfNeeded: rng.int(1...customers))
            sink.addBad(
                kind, customer: customer, at: rng.millis(sink.start, sink.end - 1),
                salt: rng.next())
        }
    }
}

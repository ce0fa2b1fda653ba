import Foundation
import Synchronization
import Testing

@testable import RekindleRuntime

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite struct ObservabilityTests {
    // MARK: Metrics

    /// One call of every method, with label values that need escaping.
    static func exercised() -> RekindleMetrics {
        let m = RekindleMetrics()
        for _ in 0..<3 { m.eventIn(topic: "events") }
        m.eventIn(topic: "orders")
        m.badInput(topic: "events", reason: "invalid_json")
        m.badInput(topic: "events", reason: "invalid_json")
        m.badInput(topic: "orders", reason: "missing_field")
        m.badInput(topic: #"we"ird\topic"#, reason: "other")
        m.trigger(rule: "abandoned_view")
        m.trigger(rule: "abandoned_view")
        m.trigger(rule: "vip")
        m.conversion(rule: "abandoned_view")
        m.lateEvent(task: 3)
        m.lateEvent(task: 3)
        m.lateEvent(task: 5)
        m.setLag(topic: "events", partition: 3, messages: 42)
        m.setLag(topic: "events", partition: 5, messages: 0)
        m.setWatermarkDelay(task: 3, milliseconds: 1500)
        m.setWatermarkDelay(task: 5, milliseconds: 250)
        m.setStateSize(task: 3, customers: 10, pendingTimers: 4)
        m.setStateSize(task: 5, customers: 7, pendingTimers: 0)
        m.eventsProcessed(5)
        m.eventsProcessed(2)
        m.setAssignedTasks(2)
        m.setSnapshotAge(task: 3, seconds: 12.5)
        m.snapshotWritten(seconds: 0.02)
        m.triggerDelivered(delaySeconds: 0.012)
        m.setReady(true)
        return m
    }

    static func lines(_ text: String) -> Set<String> {
        Set(text.split(separator: "\n").map(String.init))
    }

    @Test func renderedSeriesAndValues() throws {
        let m = Self.exercised()
        let text = m.render()
        let lines = Self.lines(text)
        let expected = [
            #"rekindle_events_in_total{topic="events"} 3"#,
            #"rekindle_events_in_total{topic="orders"} 1"#,
            #"rekindle_bad_inputs_total{topic="events",reason="invalid_json"} 2"#,
            #"rekindle_bad_inputs_total{topic="orders",reason="missing_field"} 1"#,
            #"rekindle_bad_inputs_total{topic="we\"ird\\topic",reason="other"} 1"#,
            #"rekindle_triggers_total{rule="abandoned_view"} 2"#,
            #"rekindle_triggers_total{rule="vip"} 1"#,
            #"rekindle_conversions_total{rule="abandoned_view"} 1"#,
            #"rekindle_late_events_total{task="3"} 2"#,
            #"rekindle_late_events_total{task="5"} 1"#,
            #"rekindle_consumer_lag{topic="events",partition="3"} 42.0"#,
            #"rekindle_consumer_lag{topic="events",partition="5"} 0.0"#,
            #"rekindle_watermark_delay_seconds{task="3"} 1.5"#,
            #"rekindle_watermark_delay_seconds{task="5"} 0.25"#,
            #"rekindle_state_customers{task="3"} 10.0"#,
            #"rekindle_state_pending_timers{task="3"} 4.0"#,
            #"rekindle_state_customers{task="5"} 7.0"#,
            #"rekindle_state_pending_timers{task="5"} 0.0"#,
            #"rekindle_events_processed_total 7"#,
            #"rekindle_assigned_tasks 2.0"#,
            #"rekindle_snapshot_age_seconds{task="3"} 12.5"#,
            #"rekindle_snapshot_duration_seconds_count 1"#,
            #"rekindle_trigger_delay_seconds_bucket{le="0.025"} 1"#,
            #"rekindle_trigger_delay_seconds_bucket{le="0.01"} 0"#,
            #"rekindle_ready 1.0"#,
        ]
        for line in expected {
            #expect(lines.contains(line), "missing \(line) in:\n\(text)")
        }
        // Every family has a TYPE and a HELP line.
        let families = lines.compactMap { $0.hasPrefix("# TYPE ") ? $0.split(separator: " ")[2] : nil }
        #expect(families.count == RekindleMetrics.names.count)
        #expect(Set(families.map(String.init)) == Set(RekindleMetrics.names))
        for family in families {
            #expect(lines.contains { $0.hasPrefix("# HELP \(family) ") && $0.count > "# HELP \(family) ".count })
        }
        try Self.promtoolCheck(text)
    }

    @Test func removeTaskDropsItsSeries() throws {
        let m = Self.exercised()
        m.removeTask(3)
        m.removeLag(topic: "events", partition: 3)
        let text = m.render()
        #expect(!text.contains(#"task="3""#), "\(text)")
        #expect(!text.contains(#"partition="3""#), "\(text)")
        let lines = Self.lines(text)
        #expect(lines.contains(#"rekindle_late_events_total{task="5"} 1"#))
        #expect(lines.contains(#"rekindle_state_customers{task="5"} 7.0"#))
        #expect(lines.contains(#"rekindle_consumer_lag{topic="events",partition="5"} 0.0"#))
        // No task left with a snapshot age: the whole family goes.
        #expect(!text.contains("rekindle_snapshot_age_seconds"))
        try Self.promtoolCheck(text)

        // A task that comes back starts its series again.
        m.lateEvent(task: 3)
        m.setSnapshotAge(task: 3, seconds: 1)
        let again = Self.lines(m.render())
        #expect(again.contains(#"rekindle_late_events_total{task="3"} 1"#))
        #expect(again.contains(#"rekindle_snapshot_age_seconds{task="3"} 1.0"#))
        try Self.promtoolCheck(m.render())
    }

    @Test func freshInstanceIsValidAndIndependent() throws {
        let a = RekindleMetrics(), b = RekindleMetrics()
        a.eventIn(topic: "events")
        #expect(!b.render().contains("rekindle_events_in_total"))
        #expect(Self.lines(b.render()).contains("rekindle_events_processed_total 0"))
        try Self.promtoolCheck(b.render())
    }

    @Test func concurrentUpdatesWhileRendering() async throws {
        let m = RekindleMetrics()
        let workers = 8, perWorker = 2000
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<workers {
                group.addTask {
                    for i in 0..<perWorker {
                        m.eventIn(topic: "t\(i % 4)")
                        m.eventsProcessed(1)
                        m.lateEvent(task: w)
                        m.setStateSize(task: w, customers: i, pendingTimers: i)
                        if i % 500 == 0 { m.removeTask(w) }
                    }
                }
            }
            group.addTask {
                for _ in 0..<200 { _ = m.render() }
            }
        }
        let lines = Self.lines(m.render())
        for t in 0..<4 {
            #expect(lines.contains("rekindle_events_in_total{topic=\"t\(t)\"} \(workers * perWorker / 4)"))
        }
        #expect(lines.contains("rekindle_events_processed_total \(workers * perWorker)"))
        try Self.promtoolCheck(m.render())
    }

    // MARK: Server

    final class Flag: Sendable {
        let ready = Mutex(false)
    }

    static let customerBytes = Array(#"{"customer_id":"c1","name":"Zoë","score":1.5}"#.utf8)
    static let oddBytes = Array(#"{"customer_id":"a b/ü"}"#.utf8)

    /// Runs `body` against a server on 127.0.0.1 and an OS-chosen port, then cancels the server
    /// and waits for it to stop.
    static func withServer(
        metrics: RekindleMetrics, flag: Flag,
        _ body: (_ base: String) async throws -> Void
    ) async throws {
        try await withServer(server(metrics: metrics, flag: flag), body)
    }

    /// A server on 127.0.0.1 and an OS-chosen port whose health follows `flag` and which knows
    /// the customers "c1" and "a b/ü".
    static func server(metrics: RekindleMetrics, flag: Flag) -> StatusServer {
        StatusServer(
            host: "127.0.0.1", port: 0, metrics: metrics,
            health: {
                flag.ready.withLock { ready in
                    HealthReport(ready: ready, detail: ready ? "2 tasks" : "waiting for \"assignment\"")
                }
            },
            customer: { id in
                switch id {
                case "c1": customerBytes
                case "a b/ü": oddBytes
                default: nil
                }
            })
    }

    /// Runs `body` against `server` (its port set to 0: the OS chooses), then cancels it and waits
    /// for it to stop. `body` gets `scheme://host:port` (`https` when the server has TLS).
    static func withServer(
        _ server: StatusServer, host: String = "127.0.0.1", _ body: (_ base: String) async throws -> Void
    ) async throws {
        var anyPort = server
        anyPort.port = 0
        let listening = anyPort
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let serverTask = Task {
            defer { continuation.finish() }
            try await listening.run { port in continuation.yield(port) }
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            // run() ended before listening: surface its error.
            try await serverTask.value
            Issue.record("server stopped before listening")
            return
        }
        #expect(port > 0)
        do {
            try await body("\(server.tls == nil ? "http" : "https")://\(host):\(port)")
        } catch {
            serverTask.cancel()
            _ = try? await serverTask.value
            throw error
        }
        serverTask.cancel()
        try await serverTask.value  // returns normally once cancelled
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func serverRoutes() async throws {
        let metrics = Self.exercised()
        let flag = Flag()
        try await Self.withServer(metrics: metrics, flag: flag) { base in
            // /metrics
            let (mStatus, mBody) = try await StatusClient.get(base + "/metrics")
            #expect(mStatus == 200)
            let rendered = Self.text(mBody)
            #expect(Self.lines(rendered).contains(#"rekindle_events_in_total{topic="events"} 3"#))
            try Self.promtoolCheck(rendered)
            let (_, response) = try await URLSession.shared.data(from: URL(string: base + "/metrics")!)
            let contentType = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type")
            #expect(contentType?.hasPrefix("text/plain; version=0.0.4") == true, "\(contentType ?? "none")")

            // /health: starting, then ready once the flag flips.
            let (h1, b1) = try await StatusClient.get(base + "/health")
            #expect(h1 == 503)
            #expect(Self.text(b1) == #"{"status":"starting","detail":"waiting for \"assignment\""}"#)
            flag.ready.withLock { $0 = true }
            let (h2, b2) = try await StatusClient.get(base + "/health")
            #expect(h2 == 200)
            #expect(Self.text(b2) == #"{"status":"ready","detail":"2 tasks"}"#)

            // /customers
            let (c404, b404) = try await StatusClient.get(base + "/customers/x")
            #expect(c404 == 404)
            #expect(Self.text(b404) == #"{"error":"no such customer","customer":"x"}"#)
            let (c200, b200) = try await StatusClient.get(base + "/customers/c1")
            #expect(c200 == 200)
            #expect(b200 == Self.customerBytes)
            let (cOdd, bOdd) = try await StatusClient.get(base + "/customers/a%20b%2F%C3%BC")
            #expect(cOdd == 200)
            #expect(bOdd == Self.oddBytes)
            let (_, cResponse) = try await URLSession.shared.data(from: URL(string: base + "/customers/c1")!)
            #expect((cResponse as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type") == "application/json")

            // Unknown route.
            let (unknown, _) = try await StatusClient.get(base + "/nothing")
            #expect(unknown == 404)

            // Metrics keep moving while the server runs.
            metrics.eventIn(topic: "events")
            let (_, after) = try await StatusClient.get(base + "/metrics")
            #expect(Self.lines(Self.text(after)).contains(#"rekindle_events_in_total{topic="events"} 4"#))
        }
    }

    @Test func serverStopsOnCancellationAndFreesThePort() async throws {
        let flag = Flag()
        var base = ""
        try await Self.withServer(metrics: RekindleMetrics(), flag: flag) { b in
            base = b
            let (status, _) = try await StatusClient.get(b + "/health")
            #expect(status == 503)
        }
        // After cancellation nothing listens there any more.
        await #expect(throws: StatusClient.Failure.self) {
            _ = try await StatusClient.get(base + "/health", timeout: 5)
        }
    }

    @Test func portInUseThrows() async throws {
        try await Self.withServer(metrics: RekindleMetrics(), flag: Flag()) { base in
            let port = Int(base.split(separator: ":").last!)!
            let second = StatusServer(
                host: "127.0.0.1", port: port, metrics: RekindleMetrics(),
                health: { HealthReport(ready: true, detail: "") }, customer: { _ in nil })
            await #expect(throws: (any Error).self) {
                try await second.run { _ in Issue.record("second server listened on a used port") }
            }
        }
    }

    @Test func clientReportsUnreachable() async throws {
        // Bind-and-release an ephemeral port so nothing listens on it.
        let port = try Self.unusedPort()
        do {
            _ = try await StatusClient.get("http://127.0.0.1:\(port)/customers/c1", timeout: 5)
            Issue.record("expected a failure")
        } catch let failure as StatusClient.Failure {
            #expect("\(failure)".contains("cannot reach http://127.0.0.1:\(port)/customers/c1"), "\(failure)")
        }
        await #expect(throws: StatusClient.Failure.self) { _ = try await StatusClient.get("not a url") }
    }

    @Test func parseAddress() {
        #expect(StatusServer.parseAddress("127.0.0.1:9464")! == ("127.0.0.1", 9464))
        #expect(StatusServer.parseAddress("localhost:0")! == ("localhost", 0))
        #expect(StatusServer.parseAddress("[::1]:8080")! == ("::1", 8080))
        #expect(StatusServer.parseAddress("127.0.0.1") == nil)
        #expect(StatusServer.parseAddress(":9464") == nil)
        #expect(StatusServer.parseAddress("host:99999") == nil)
        #expect(StatusServer.parseAddress("::1:80") == nil)
    }

    // MARK: Helpers

    static func unusedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
                bind(fd, p, len) == 0 && getsockname(fd, p, &len) == 0
            }
        }
        #expect(bound)
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// `promtool check metrics` must exist, exit 0 and print nothing (it prints one line per
    /// problem, and nothing on success).
    static func promtoolCheck(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let promtool = "/usr/bin/promtool"
        try #require(
            FileManager.default.isExecutableFile(atPath: promtool),
            "promtool is missing: apt-get install prometheus", sourceLocation: sourceLocation)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rekindle-promtool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("metrics.txt"), output = dir.appendingPathComponent("out.txt")
        try Data(text.utf8).write(to: input)
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: promtool)
        p.arguments = ["check", "metrics"]
        p.standardInput = try FileHandle(forReadingFrom: input)
        let out = try FileHandle(forWritingTo: output)
        p.standardOutput = out
        p.standardError = out
        try p.run()
        p.waitUntilExit()
        let said = try String(contentsOf: output, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(
            p.terminationStatus == 0 && said.isEmpty,
            "promtool exit \(p.terminationStatus): \(said)\n--- input:\n\(text)", sourceLocation: sourceLocation)
    }
}

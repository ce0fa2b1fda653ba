import ArgumentParser
import Dispatch
import Foundation
import RekindleCore
import RekindleRuntime

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Consume the input topics in a consumer group, fold them, and produce triggers and conversions.",
        discussion: """
            Settings come from --config (YAML), then REKINDLE_* environment variables, then flags
            (a flag beats the environment, which beats the file). The file's `kafka:` map goes to
            librdkafka as-is, so SASL and TLS work against a real cluster.
            """)

    @Option(name: .long, help: "Kafka bootstrap servers (HOST:PORT,...).")
    var bootstrap: String?

    @Option(name: .long, help: "A YAML configuration file.")
    var config: String?

    @Option(name: .long, help: "A rule file laid over the defaults.")
    var rules: String?

    @Option(name: .long, help: "Consumer group id.")
    var groupId: String?

    @Option(name: .long, help: "Status address for /metrics, /health and /customers/{id} ('off' to disable).")
    var http: String?

    @Option(name: .long, help: "A file holding the status server's bearer token (else REKINDLE_HTTP_TOKEN); required off loopback.")
    var httpTokenFile: String?

    @Option(name: .long, help: "Serve the status address over HTTPS with this PEM certificate (chain).")
    var httpTlsCertificate: String?

    @Option(name: .long, help: "The PEM private key of --http-tls-certificate.")
    var httpTlsKey: String?

    @Flag(name: .long, help: "Show customer ids in log lines (they are <redacted> otherwise).")
    var logCustomerIds = false

    @Option(name: .long, help: "An event whose occurred_at is further ahead of its message's timestamp is a bad input (default 86400000: one day).")
    var maxFutureSkewMs: String?

    @Option(name: .long, help: "Exit 0 once every assigned partition has been caught up this many seconds.")
    var stopWhenIdle: Double?

    @Option(name: .long, help: "Keep task snapshots in this directory (the last 3 per task); checked for a durable write at start.")
    var snapshotDir: String?

    @Flag(name: .long, help: "Keep task snapshots on the compacted topic rekindle-snapshots, so tasks restore on any machine.")
    var snapshotsInKafka = false

    @Option(name: .long, help: "Outputs in Kafka transactions: auto (on, except on rekindle broker), on, off.")
    var transactions: String = "auto"

    @Option(name: .long, help: "Seconds between snapshots (default 30).")
    var snapshotInterval: Double?

    @Option(name: .long, help: "Also snapshot after this many folded events (default 500000).")
    var snapshotEveryEvents: Int?

    @Option(name: .long, help: "End the run (exit 1) after this many failed snapshot writes in a row (default 3).")
    var snapshotFailureLimit: Int?

    func run() async throws {
        var settings = try RunConfiguration.load(file: config, environment: ProcessInfo.processInfo.environment)
        if let bootstrap { settings.bootstrap = bootstrap }
        if let rules { settings.rulesPath = rules }
        if let groupId { settings.groupId = groupId }
        if let http {
            settings.http = http
            settings.origins["http"] = "--http"
        }
        if let file = httpTokenFile {
            settings.httpTokenFile = file
            settings.origins["http_token_file"] = "--http-token-file"
        }
        if let file = httpTlsCertificate {
            settings.httpTLSCertificate = file
            settings.origins["http_tls_certificate"] = "--http-tls-certificate"
        }
        if let file = httpTlsKey {
            settings.httpTLSKey = file
            settings.origins["http_tls_key"] = "--http-tls-key"
        }
        if logCustomerIds { settings.logCustomerIds = true }
        guard let server = settings.bootstrap, !server.isEmpty else {
            throw ValidationError("--bootstrap is required (or bootstrap: in --config, or REKINDLE_BOOTSTRAP)")
        }
        var address: (host: String, port: Int)?
        if settings.http != "off" {
            guard let a = StatusServer.parseAddress(settings.http) else {
                throw ValidationError("\(settings.origin(of: "http", flag: "--http")): expected HOST:PORT or off, got \"\(settings.http)\"")
            }
            address = a
        }
        // Before anything connects: a status server others can reach must ask for a token.
        let security = try address.map { try settings.statusSecurity(host: $0.host, port: $0.port) }
        if let s = stopWhenIdle {
            _ = try RunConfiguration.checked("stop_when_idle_seconds", s, text: "\(s)", from: "--stop-when-idle")
        }
        if let dir = snapshotDir { settings.snapshotDir = dir }
        if snapshotsInKafka { settings.snapshotsInKafka = true }
        if settings.snapshotsInKafka && settings.snapshotDir != nil {
            throw ValidationError("--snapshots-in-kafka and --snapshot-dir: choose one snapshot store")
        }
        if let s = snapshotInterval {
            settings.snapshotIntervalSeconds = try RunConfiguration.checked(
                "snapshot_interval_seconds", s, text: "\(s)", from: "--snapshot-interval")
        }
        if let n = snapshotEveryEvents {
            settings.snapshotEveryEvents = Int(try RunConfiguration.checked(
                "snapshot_every_events", Double(n), text: "\(n)", from: "--snapshot-every-events"))
        }
        if let n = snapshotFailureLimit {
            settings.snapshotFailureLimit = Int(try RunConfiguration.checked(
                "snapshot_failure_limit", Double(n), text: "\(n)", from: "--snapshot-failure-limit"))
        }

        var options = LiveOptions(bootstrap: server)
        options.kafka.merge(settings.kafka) { _, user in user }
        options.groupId = settings.groupId
        options.topics = settings.topics
        if let path = settings.rulesPath { try InputFile.check(path, flag: "--rules") }
        options.rules = try RuleFile.load(path: settings.rulesPath)
        options.allowedLatenessMs = settings.allowedLatenessMs
        if let v = maxFutureSkewMs {
            settings.maxFutureSkewMs = Int64(try RunConfiguration.checked("max_future_skew_ms", text: v, from: "--max-future-skew-ms"))
        }
        options.maxFutureSkewMs = settings.maxFutureSkewMs
        options.stopWhenIdleSeconds = stopWhenIdle
        guard let mode = TransactionMode(rawValue: transactions) else {
            throw ValidationError("--transactions: expected auto, on or off, got \"\(transactions)\"")
        }
        options.transactions = mode
        options.snapshotIntervalSeconds = settings.snapshotIntervalSeconds
        options.snapshotEveryEvents = settings.snapshotEveryEvents
        options.snapshotFailureLimit = settings.snapshotFailureLimit
        if let dir = settings.snapshotDir { options.snapshotStore = try DirectorySnapshotStore(directory: dir) }
        if settings.snapshotsInKafka {
            options.snapshotStore = try KafkaSnapshotStore(kafka: options.kafka, topic: settings.topics.snapshots)
        }

        let metrics = RekindleMetrics()
        let runner = LiveRunner(options: options, metrics: metrics)
        let stops = Self.onStopSignals { runner.stop() }
        defer { stops.forEach { $0.cancel() } }
        // SIGHUP: read the rule file again; a bad file is reported and the old rules stay.
        let rulesPath = settings.rulesPath
        signal(SIGHUP, SIG_IGN)
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangup.setEventHandler {
            do {
                try runner.reload(rules: RuleFile.load(path: rulesPath))
                FileHandle.standardError.write(Data("rekindle: rules reloaded\n".utf8))
            } catch {
                // The running rules stay; the message names the file and the key.
                FileHandle.standardError.write(Data("rekindle: rules not reloaded, the running rules stay: \(error)\n".utf8))
            }
        }
        hangup.resume()
        defer { hangup.cancel() }

        let httpText = settings.http
        let statusTask: Task<Void, Error>? = address.map { address in
            let status = StatusServer(
                host: address.host, port: address.port, metrics: metrics,
                health: { runner.health() }, customer: { runner.customer($0) },
                token: security?.token, tls: security?.tls, logCustomerIds: settings.logCustomerIds)
            let scheme = status.tls == nil ? "http" : "https"
            return Task {
                do {
                    try await status.run { port in
                        FileHandle.standardError.write(Data("status: \(scheme)://\(address.host):\(port)/metrics\n".utf8))
                    }
                } catch {
                    FileHandle.standardError.write(Data("rekindle: cannot serve \(httpText): \(error)\n".utf8))
                    runner.stop()
                    throw error
                }
            }
        }
        let summary: LiveSummary = try await withCheckedThrowingContinuation { continuation in
            // The consumer loop blocks in librdkafka's poll: it gets a thread of its own.
            let thread = Thread {
                do { continuation.resume(returning: try runner.run()) } catch { continuation.resume(throwing: error) }
            }
            thread.name = "rekindle-consumer"
            thread.start()
        }
        statusTask?.cancel()
        if let statusTask, case .failure = await statusTask.result { throw ExitCode(1) }
        for (partition, watermark) in summary.watermarks {
            print("task \(partition): watermark \(watermark == .min ? "none" : Timestamp.format(watermark))")
        }
        if stopWhenIdle != nil { print(summary.report.table, terminator: "") }
    }

    /// SIGINT and SIGTERM ask the runner to stop (deliver, commit, leave the group) instead of killing it.
    static func onStopSignals(_ handler: @escaping @Sendable () -> Void) -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }
}

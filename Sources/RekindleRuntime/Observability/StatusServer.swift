import Foundation
import Hummingbird
import Logging
import RekindleCore

/// What `GET /health` reports.
public struct HealthReport: Sendable, Equatable {
    /// True once the instance has its assignment, restored its tasks and is processing.
    public var ready: Bool
    /// One line for humans, e.g. "4 tasks, watermark 2026-03-01T10:00:00Z".
    public var detail: String

    public init(ready: Bool, detail: String) {
        self.ready = ready
        self.detail = detail
    }
}

/// The HTTP side of `rekindle run`: Prometheus metrics, health and one customer's state.
///
/// - `GET /metrics`: text exposition format, `text/plain; version=0.0.4`.
/// - `GET /health`: 200 `{"status":"ready","detail":...}` or 503 `{"status":"starting","detail":...}`.
/// - `GET /customers/{id}`: 200 `application/json` with the bytes `customer(id)` returns
///   (`id` percent-decoded), or 404 `{"error":"no such customer","customer":...}`.
///
/// With a `token`, `/metrics` and `/customers/{id}` answer 401 unless the request carries
/// `Authorization: Bearer TOKEN`; `/health` stays open for probes. With `tls`, it speaks HTTPS only.
/// A refused request is logged (warning) and a customer lookup too (info), each with the
/// customer id replaced by `<redacted>` unless `logCustomerIds`.
///
/// Binds only the address given (default 127.0.0.1:9464, loopback). `run` serves until the task
/// running it is cancelled.
public struct StatusServer: Sendable {
    public static let defaultHost = "127.0.0.1"
    public static let defaultPort = 9464

    public var host: String
    public var port: Int
    public let metrics: RekindleMetrics
    private let health: @Sendable () -> HealthReport
    private let customer: @Sendable (String) -> [UInt8]?
    /// Asked of every request but `/health`; nil: open (for loopback only, see `isLoopback`).
    public var token: BearerToken?
    /// Serve HTTPS with this certificate and key; nil: plain HTTP.
    public var tls: StatusTLS?
    /// Show customer ids in log lines instead of `<redacted>` (`--log-customer-ids`).
    public var logCustomerIds = false
    /// Hummingbird's own log lines ("Server started ...") and ours. Defaults to warnings and worse.
    public var logger: Logger

    public init(
        host: String = StatusServer.defaultHost,
        port: Int = StatusServer.defaultPort,
        metrics: RekindleMetrics,
        health: @escaping @Sendable () -> HealthReport,
        customer: @escaping @Sendable (String) -> [UInt8]?,
        token: BearerToken? = nil,
        tls: StatusTLS? = nil,
        logCustomerIds: Bool = false,
        logger: Logger? = nil
    ) {
        self.token = token
        self.tls = tls
        self.logCustomerIds = logCustomerIds
        self.host = host
        self.port = port
        self.metrics = metrics
        self.health = health
        self.customer = customer
        if let logger {
            self.logger = logger
        } else {
            var logger = Logger(label: "rekindle.status")
            logger.logLevel = .warning
            self.logger = logger
        }
    }

    /// Serves until the surrounding task is cancelled, then returns normally. Throws if the
    /// address cannot be bound (e.g. the port is in use).
    ///
    /// - Parameter onServerRunning: called once the socket listens, with the bound port (the
    ///   real one when `port` was 0).
    public func run(onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }) async throws {
        let requested = port
        let app = Application(
            router: makeRouter(),
            server: try tls.map { try .tls(.http1(), tlsConfiguration: $0.configuration) } ?? .http1(),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                await onServerRunning(channel.localAddress?.port ?? requested)
            },
            logger: Self.quietOnCancellation(logger)
        )
        do {
            try await app.run()
        } catch is CancellationError {
            // Cancelled: the normal way to stop.
        }
    }

    /// True for addresses only this machine can reach: 127.0.0.0/8, ::1 and `localhost`. Any other
    /// (0.0.0.0, ::, a host name, a routable address) needs a token.
    public static func isLoopback(host: String) -> Bool {
        let h = host.lowercased()
        if h == "localhost" || h == "::1" || h == "0:0:0:0:0:0:0:1" { return true }
        let octets = h.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// Splits "host:port" (or "[v6]:port") as given to `--http`. Nil when malformed.
    public static func parseAddress(_ text: String) -> (host: String, port: Int)? {
        let host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { return nil }  // bare IPv6 needs brackets
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { return nil }
        return (String(host), port)
    }

    /// `logger` without the error HummingbirdCore logs each time a server is stopped by task
    /// cancellation ("Waiting on child channel: CancellationError()"), the normal way to stop here.
    static func quietOnCancellation(_ logger: Logger) -> Logger {
        var quiet = Logger(label: logger.label) { _ in DropCancellationNoise(inner: logger.handler) }
        quiet.logLevel = logger.logLevel
        return quiet
    }

    // MARK: Routes

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        let metrics = self.metrics, health = self.health, customer = self.customer
        let guarded = RequestGuard(token: token, logCustomerIds: logCustomerIds, logger: logger)

        router.get("metrics") { request, _ -> Response in
            if let refused = guarded.refusal(request) { return refused }
            // The loop sets the gauge after each batch; a scrape sets it too, so that it never
            // disagrees with what /health answers at the same moment.
            metrics.setReady(health().ready)
            return Self.response(.ok, contentType: "text/plain; version=0.0.4; charset=utf-8", metrics.renderBytes())
        }

        router.get("health") { _, _ -> Response in
            let report = health()
            let body = #"{"status":"# + JSONWriter.quoted(report.ready ? "ready" : "starting")
                + #","detail":"# + JSONWriter.quoted(report.detail) + "}"
            return Self.json(report.ready ? .ok : .serviceUnavailable, Array(body.utf8))
        }

        router.get("customers/:id") { request, context -> Response in
            if let refused = guarded.refusal(request) { return refused }
            let raw = context.parameters.get("id") ?? ""
            let id = raw.removingPercentEncoding ?? raw
            let bytes = customer(id)
            guarded.logger.info("status: customer \(guarded.shown(id)): \(bytes == nil ? "not here" : "found")")
            if let bytes {
                return Self.json(.ok, bytes)
            }
            let body = #"{"error":"no such customer","customer":"# + JSONWriter.quoted(id) + "}"
            return Self.json(.notFound, Array(body.utf8))
        }
        return router
    }

    /// The token check and the log lines that may name a customer.
    struct RequestGuard: Sendable {
        let token: BearerToken?
        let logCustomerIds: Bool
        let logger: Logger

        /// A customer id as log lines show it.
        func shown(_ id: String) -> String { logCustomerIds ? id : "<redacted>" }

        /// Nil when the request may go on; else the 401 to answer (RFC 6750).
        func refusal(_ request: Request) -> Response? {
            guard let token, !token.accepts(authorization: request.headers[.authorization]) else { return nil }
            var path = request.uri.path
            if path.hasPrefix("/customers/") { path = "/customers/" + shown(String(path.dropFirst("/customers/".count))) }
            logger.warning("status: refused GET \(path): no valid bearer token")
            let body = #"{"error":"a bearer token is required: Authorization: Bearer TOKEN"}"#
            return Response(
                status: .unauthorized,
                headers: [.contentType: "application/json", .wwwAuthenticate: #"Bearer realm="rekindle""#],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: Array(body.utf8))))
        }
    }

    private static func json(_ status: HTTPResponse.Status, _ bytes: [UInt8]) -> Response {
        response(status, contentType: "application/json", bytes)
    }

    private static func response(_ status: HTTPResponse.Status, contentType: String, _ bytes: [UInt8]) -> Response {
        Response(
            status: status,
            headers: [.contentType: contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// Forwards to `inner`, except HummingbirdCore's report of a cancelled accept loop.
struct DropCancellationNoise: LogHandler {
    var inner: any LogHandler

    func log(event: LogEvent) {
        if event.level == .error, event.message.description.hasPrefix("Waiting on child channel: CancellationError") {
            return
        }
        inner.log(event: event)
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }
}

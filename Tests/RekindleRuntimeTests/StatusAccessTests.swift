import Foundation
import Testing

@testable import RekindleRuntime

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Who may read the status server: the bearer token, the refusal to serve other machines without
/// one, and what its log lines show of a customer.
@Suite(.serialized) struct StatusAccessTests {
    static let token = "s3cret-token-0123456789abcdef"
    static let bearer = ["Authorization": "Bearer " + token]

    @Test func aBearerTokenIsAcceptedOnlyWhenItIsExactlyTheOne() throws {
        let t = try #require(BearerToken(Self.token + "\n"))  // a token file's newline is not part of it
        #expect(t.accepts(authorization: "Bearer " + Self.token))
        #expect(t.accepts(authorization: "bearer " + Self.token))  // the scheme is case-insensitive
        #expect(!t.accepts(authorization: nil))
        #expect(!t.accepts(authorization: "Bearer "))
        #expect(!t.accepts(authorization: "Bearer " + Self.token.dropLast()))
        #expect(!t.accepts(authorization: "Bearer " + Self.token + "f"))
        #expect(!t.accepts(authorization: "Bearer " + Self.token.uppercased()))
        #expect(!t.accepts(authorization: "Basic " + Self.token))
        #expect(!t.accepts(authorization: Self.token))
    }

    @Test func aShortOrSpacedTokenIsRefused() {
        #expect(BearerToken(String(repeating: "x", count: BearerToken.minimumLength - 1)) == nil)
        #expect(BearerToken(String(repeating: "x", count: BearerToken.minimumLength)) != nil)
        #expect(BearerToken("sixteen chars or more, with spaces") == nil)
        #expect(BearerToken("   \n") == nil)
    }

    @Test func digestsAreComparedWholly() {
        #expect(BearerToken.equal([1, 2, 3], [1, 2, 3]))
        #expect(!BearerToken.equal([1, 2, 3], [1, 2, 4]))
        #expect(!BearerToken.equal([9, 2, 3], [1, 2, 3]))
        #expect(!BearerToken.equal([1, 2], [1, 2, 3]))
    }

    @Test func metricsAndCustomersNeedTheTokenAndHealthDoesNot() async throws {
        var server = ObservabilityTests.server(metrics: ObservabilityTests.exercised(), flag: ObservabilityTests.Flag())
        server.token = BearerToken(Self.token)
        try await ObservabilityTests.withServer(server) { base in
            for path in ["/metrics", "/customers/c1"] {
                let (none, body) = try await StatusClient.get(base + path)
                #expect(none == 401, "\(path)")
                #expect(ObservabilityTests.text(body).contains("bearer token is required"), "\(path)")
                let (wrong, _) = try await StatusClient.get(base + path, headers: ["Authorization": "Bearer " + Self.token + "x"])
                #expect(wrong == 401, "\(path)")
                let (right, _) = try await StatusClient.get(base + path, headers: Self.bearer)
                #expect(right == 200, "\(path)")
            }
            // The challenge a client needs (RFC 6750).
            var request = URLRequest(url: URL(string: base + "/metrics")!)
            request.setValue("Bearer nope", forHTTPHeaderField: "Authorization")
            let (_, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.value(forHTTPHeaderField: "WWW-Authenticate") == #"Bearer realm="rekindle""#)
            // Probes carry no token: /health answers them (503: this server's tasks are not ready).
            let (health, _) = try await StatusClient.get(base + "/health")
            #expect(health == 503)
        }
    }

    @Test func inspectSendsTheTokenAndSaysWhenOneIsWanted() async throws {
        var server = ObservabilityTests.server(metrics: RekindleMetrics(), flag: ObservabilityTests.Flag())
        server.token = BearerToken(Self.token)
        let file = try tokenFile(Self.token + "\n")
        var environment = ProcessInfo.processInfo.environment
        environment["REKINDLE_HTTP_TOKEN"] = nil
        try await ObservabilityTests.withServer(server) { base in
            let address = String(base.dropFirst("http://".count))
            let without = try await CLI.runAsync(CLI.binary, ["inspect", "c1", "--http", address], environment: environment)
            #expect(without.status == 1)
            #expect(without.stderr.contains("\(address) wants a bearer token: set REKINDLE_HTTP_TOKEN or --http-token-file"), "\(without.stderr)")
            let withFile = try await CLI.runAsync(CLI.binary, ["inspect", "c1", "--http", address, "--http-token-file", file], environment: environment)
            #expect(withFile.status == 0, "\(withFile.stderr)")
            #expect(withFile.stdout == ObservabilityTests.text(ObservabilityTests.customerBytes) + "\n")
            environment["REKINDLE_HTTP_TOKEN"] = Self.token
            let withEnvironment = try await CLI.runAsync(CLI.binary, ["inspect", "c1", "--http", address], environment: environment)
            #expect(withEnvironment.status == 0, "\(withEnvironment.stderr)")
            environment["REKINDLE_HTTP_TOKEN"] = Self.token + "-wrong"
            let wrong = try await CLI.runAsync(CLI.binary, ["inspect", "c1", "--http", address], environment: environment)
            #expect(wrong.stderr.contains("wants a bearer token: the one given was refused"), "\(wrong.stderr)")
        }
    }

    @Test func customerIdsAreRedactedInLogLinesUnlessAskedFor() async throws {
        for show in [false, true] {
            let capture = LogCapture()
            var server = ObservabilityTests.server(metrics: RekindleMetrics(), flag: ObservabilityTests.Flag())
            server.token = BearerToken(Self.token)
            server.logger = capture.logger
            server.logCustomerIds = show
            try await ObservabilityTests.withServer(server) { base in
                _ = try await StatusClient.get(base + "/customers/alice-4711")  // refused: no token
                _ = try await StatusClient.get(base + "/customers/bob-0815", headers: Self.bearer)  // looked up
                _ = try await StatusClient.get(base + "/customers/c1", headers: Self.bearer)
            }
            let log = capture.text
            #expect(log.contains("warning: status: refused GET /customers/"), "\(log)")
            #expect(log.contains("info: status: customer "), "\(log)")
            for id in ["alice-4711", "bob-0815", "c1"] {
                #expect(log.contains(id) == show, "--log-customer-ids \(show): \(id) in\n\(log)")
            }
            #expect(log.contains("<redacted>") == !show, "\(log)")
        }
    }

    @Test func onlyLoopbackAddressesMayGoWithoutAToken() {
        for host in ["127.0.0.1", "127.8.9.10", "::1", "localhost", "LOCALHOST"] {
            #expect(StatusServer.isLoopback(host: host), "\(host)")
        }
        for host in ["0.0.0.0", "::", "10.0.0.7", "128.0.0.1", "127.0.0", "127.0.0.1.nip.io", "rekindle-0.rekindle", "1270.0.0.1"] {
            #expect(!StatusServer.isLoopback(host: host), "\(host)")
        }
    }

    func tokenFile(_ text: String) throws -> String {
        let url = try CLI.temporaryDirectory().appendingPathComponent("token")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func aReachableStatusServerNeedsATokenFromTheFlagTheEnvironmentOrTheConfigFile() throws {
        var c = RunConfiguration()
        c.http = "0.0.0.0:9464"
        c.origins["http"] = "REKINDLE_HTTP"
        #expect(throws: ConfigError.self) { try c.statusSecurity(host: "0.0.0.0", port: 9464) }
        do {
            _ = try c.statusSecurity(host: "0.0.0.0", port: 9464)
        } catch {
            #expect(error.message.hasPrefix("REKINDLE_HTTP: the status server on 0.0.0.0:9464 can be reached from other machines, so it needs a bearer token"), "\(error)")
        }
        #expect(try c.statusSecurity(host: "127.0.0.1", port: 9464).token == nil)

        // The config file's token file, then the environment over it, then the flag over both.
        let fromFile = try tokenFile("from-the-config-file-0001\n")
        let yaml = try CLI.temporaryDirectory().appendingPathComponent("rekindle.yaml")
        try "http: 0.0.0.0:9464\nhttp_token_file: \(fromFile)\n".write(to: yaml, atomically: true, encoding: .utf8)
        c = try RunConfiguration.load(file: yaml.path, environment: [:])
        var token = try #require(try c.statusSecurity(host: "0.0.0.0", port: 9464).token)
        #expect(token.accepts(authorization: "Bearer from-the-config-file-0001"))
        c = try RunConfiguration.load(file: yaml.path, environment: ["REKINDLE_HTTP_TOKEN": "from-the-environment-01"])
        token = try #require(try c.statusSecurity(host: "0.0.0.0", port: 9464).token)
        #expect(token.accepts(authorization: "Bearer from-the-environment-01"))
        c.httpTokenFile = try tokenFile("from-the-flag-file-000001")
        c.origins["http_token_file"] = "--http-token-file"
        token = try #require(try c.statusSecurity(host: "0.0.0.0", port: 9464).token)
        #expect(token.accepts(authorization: "Bearer from-the-flag-file-000001"))

        // A weak or unreadable token is refused even on loopback, naming where it came from.
        c.httpTokenFile = try tokenFile("short")
        #expect(throws: ConfigError.self) { try c.statusSecurity(host: "127.0.0.1", port: 9464) }
        c.httpTokenFile = "/nonexistent/token"
        do {
            _ = try c.statusSecurity(host: "127.0.0.1", port: 9464)
            Issue.record("an unreadable token file was accepted")
        } catch {
            #expect(error.message.hasPrefix("--http-token-file: cannot read the bearer token file /nonexistent/token"), "\(error)")
        }
    }

    @Test func runRefusesAReachableStatusServerWithoutATokenAndExits2() throws {
        // Nothing listens on 127.0.0.1:1: the refusal comes before any connection is tried.
        let env = URL(fileURLWithPath: "/usr/bin/env")
        let refused = try CLI.run(env, ["-u", "REKINDLE_HTTP_TOKEN", CLI.binary.path, "run", "--bootstrap", "127.0.0.1:1", "--http", "0.0.0.0:0"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("rekindle: bad configuration: --http: the status server on 0.0.0.0:0 can be reached from other machines, so it needs a bearer token"), "\(refused.stderr)")
        let short = try CLI.run(env, ["REKINDLE_HTTP_TOKEN=short", CLI.binary.path, "run", "--bootstrap", "127.0.0.1:1", "--http", "[::]:0"])
        #expect(short.status == 2)
        #expect(short.stderr.contains("REKINDLE_HTTP_TOKEN: a bearer token needs at least 16 characters"), "\(short.stderr)")
    }
}

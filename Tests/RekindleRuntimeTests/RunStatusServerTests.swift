import Foundation
import Testing

@testable import RekindleRuntime

/// `rekindle run` itself, bound off loopback with a token and TLS: what a Prometheus scrape, a
/// probe and a stranger each get, and what its log says of the stranger.
@Suite(.serialized) struct RunStatusServerTests {
    @Test func aRunOffLoopbackServesHTTPSAndAsksForItsToken() async throws {
        let cluster = try LiveKafka.cluster(partitions: 2)
        defer { cluster.close() }
        try LiveKafka.produce(ReplayFixture.generated(customers: 50, days: 20, seed: 51), to: cluster)
        let dir = try CLI.temporaryDirectory()
        let pair = try StatusTLSTests.selfSigned(in: dir, name: "status")
        let tokenFile = dir.appendingPathComponent("token")
        try (StatusAccessTests.token + "\n").write(to: tokenFile, atomically: true, encoding: .utf8)
        let port = try ObservabilityTests.unusedPort()
        let child = try CLI.Child(CLI.binary, [
            "run", "--bootstrap", cluster.bootstrapServers, "--group-id", "status-e2e", "--http", "0.0.0.0:\(port)",
            "--http-token-file", tokenFile.path, "--http-tls-certificate", pair.certificate, "--http-tls-key", pair.key,
        ], environment: nil)
        let exited = AsyncStream.makeStream(of: Int32.self)
        child.process.terminationHandler = { p in
            exited.continuation.yield(p.terminationStatus)
            exited.continuation.finish()
        }
        try child.process.run()
        defer { if child.process.isRunning { child.process.terminate() } }

        let base = "https://127.0.0.1:\(port)"
        let trust = ["--cacert", pair.certificate]
        // Until the instance is ready: /health needs no token.
        var health = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && child.process.isRunning {
            health = try await StatusTLSTests.curl(trust + [base + "/health"]).code
            if health == "200" { break }
            try await Task.sleep(for: .milliseconds(100))  // polling a remote process's state
        }
        let startup = try String(contentsOf: child.err, encoding: .utf8)  // (result() wants it ended)
        #expect(health == "200", "\(startup)")
        let auth = ["-H", "Authorization: Bearer " + StatusAccessTests.token]
        let scrape = try await StatusTLSTests.curl(trust + auth + [base + "/metrics"])
        #expect(scrape.code == "200")
        #expect(scrape.body.contains("rekindle_ready 1.0"), "\(scrape.body)")
        #expect(try await StatusTLSTests.curl(trust + [base + "/metrics"]).code == "401")
        #expect(try await StatusTLSTests.curl(trust + [base + "/customers/mallory-secret-id"]).code == "401")
        #expect(try await StatusTLSTests.curl(trust + ["-H", "Authorization: Bearer wrong-token-0123456789", base + "/metrics"]).code == "401")

        child.process.terminate()  // SIGTERM: deliver, commit, leave the group, exit 0
        var iterator = exited.stream.makeAsyncIterator()
        #expect(await iterator.next() == 0)
        let out = try child.result()
        #expect(out.stderr.contains("status: https://0.0.0.0:\(port)/metrics"), "\(out.stderr)")
        #expect(out.stderr.contains("status: refused GET /customers/<redacted>: no valid bearer token"), "\(out.stderr)")
        #expect(!(out.stdout + out.stderr).contains("mallory-secret-id"))
    }
}

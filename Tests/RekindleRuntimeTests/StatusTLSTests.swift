import Foundation
import Testing

@testable import RekindleRuntime

/// HTTPS on the status server, checked with curl (someone else's TLS client) against a
/// certificate made here with openssl.
@Suite(.serialized) struct StatusTLSTests {
    struct Pair {
        var certificate: String
        var key: String
    }

    /// A fresh self-signed certificate for localhost and 127.0.0.1, and its P-256 key.
    static func selfSigned(in dir: URL, name: String) throws -> Pair {
        let openssl = URL(fileURLWithPath: "/usr/bin/openssl")
        try #require(FileManager.default.isExecutableFile(atPath: openssl.path), "openssl is missing: apt-get install openssl")
        let pair = Pair(certificate: dir.appendingPathComponent("\(name).crt").path, key: dir.appendingPathComponent("\(name).key").path)
        let r = try CLI.run(openssl, [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", pair.key, "-out", pair.certificate, "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        try #require(r.status == 0, "openssl: \(r.stderr)")
        return pair
    }

    /// curl's answer: the HTTP status ("000" when no HTTP came back) and the body.
    static func curl(_ args: [String]) async throws -> (code: String, body: String) {
        let bodyFile = try CLI.temporaryDirectory().appendingPathComponent("body").path
        let r = try await CLI.runAsync(
            URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "--max-time", "10", "-o", bodyFile, "-w", "%{http_code}"] + args)
        return (r.stdout, (try? String(contentsOfFile: bodyFile, encoding: .utf8)) ?? "")
    }

    @Test func theStatusServerSpeaksHTTPSWithTheGivenCertificate() async throws {
        let dir = try CLI.temporaryDirectory()
        let pair = try Self.selfSigned(in: dir, name: "status")
        var server = ObservabilityTests.server(metrics: ObservabilityTests.exercised(), flag: ObservabilityTests.Flag())
        server.tls = try StatusTLS(certificate: pair.certificate, key: pair.key, origin: "test")
        server.token = BearerToken(StatusAccessTests.token)
        try await ObservabilityTests.withServer(server, host: "localhost") { base in
            #expect(base.hasPrefix("https://localhost:"))
            let auth = ["-H", "Authorization: Bearer " + StatusAccessTests.token]
            let metrics = try await Self.curl(["--cacert", pair.certificate] + auth + [base + "/metrics"])
            #expect(metrics.code == "200")
            #expect(metrics.body.contains(#"rekindle_events_in_total{topic="events"} 3"#))
            let noToken = try await Self.curl(["--cacert", pair.certificate, base + "/metrics"])
            #expect(noToken.code == "401")
            let health = try await Self.curl(["--cacert", pair.certificate, base + "/health"])
            #expect(health.code == "503")
            // A client that does not trust the certificate gets no answer, nor does plain HTTP.
            let untrusted = try await Self.curl(auth + [base + "/metrics"])
            #expect(untrusted.code == "000")
            let plain = try await Self.curl(auth + [base.replacingOccurrences(of: "https://", with: "http://") + "/metrics"])
            #expect(plain.code != "200")
        }
    }

    @Test func aWrongCertificateOrKeyIsRefusedBeforeServing() throws {
        let dir = try CLI.temporaryDirectory()
        let a = try Self.selfSigned(in: dir, name: "a"), b = try Self.selfSigned(in: dir, name: "b")
        func message(_ cert: String, _ key: String) -> String {
            do {
                _ = try StatusTLS(certificate: cert, key: key, origin: "--http-tls-certificate")
                return "accepted"
            } catch { return error.message }
        }
        #expect(message(a.certificate, a.key) == "accepted")
        #expect(message(a.certificate, b.key).contains("do not make a TLS context"), "\(message(a.certificate, b.key))")
        #expect(message(a.key, a.key).hasPrefix("--http-tls-certificate: TLS certificate \(a.key):"))
        #expect(message(a.certificate, a.certificate).hasPrefix("--http-tls-certificate: TLS private key \(a.certificate): not a PEM private key"))
        #expect(message(dir.path + "/none.crt", a.key) == "--http-tls-certificate: TLS certificate \(dir.path)/none.crt: no readable file there")

        var c = RunConfiguration()
        c.httpTLSCertificate = a.certificate
        c.origins["http_tls_certificate"] = "REKINDLE_HTTP_TLS_CERTIFICATE"
        #expect(throws: ConfigError.self) { try c.statusSecurity(host: "127.0.0.1", port: 0) }
        c.httpTLSKey = a.key
        #expect(try c.statusSecurity(host: "127.0.0.1", port: 0).tls != nil)
    }
}

import Foundation
import Testing

/// deploy/Containerfile's runtime stage, checked without a container engine (none runs on the
/// build machines): the libraries it installs are every one the binary loads.
@Suite struct ContainerImageTests {
    static let script = CLI.packageRoot.appendingPathComponent("deploy/check-runtime-libraries.sh")
    static let containerfile = CLI.packageRoot.appendingPathComponent("deploy/Containerfile")

    @Test func theRuntimeStageInstallsEveryLibraryTheBinaryLoads() throws {
        let r = try CLI.run(Self.script, [CLI.binary.path])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("ok      librdkafka.so.1 from librdkafka1"), "\(r.stdout)")
        #expect(r.stdout.contains("ok      libcurl.so.4 from libcurl4"), "\(r.stdout)")
    }

    @Test func aLibraryNoInstalledPackageShipsIsNamed() throws {
        let text = try String(contentsOf: Self.containerfile, encoding: .utf8)
        #expect(text.contains(" libcurl4 "))
        let trimmed = try CLI.temporaryDirectory().appendingPathComponent("Containerfile")
        try text.replacingOccurrences(of: " libcurl4 ", with: " ").write(to: trimmed, atomically: true, encoding: .utf8)
        let r = try CLI.run(Self.script, [CLI.binary.path, trimmed.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("MISSING libcurl.so.4 (from libcurl4; the runtime stage installs: librdkafka1 ca-certificates)"), "\(r.stderr)")
    }

    @Test func theImageRunsAsAnUnprivilegedUserWithTheSnapshotVolumeAndAHealthCheck() throws {
        let text = try String(contentsOf: Self.containerfile, encoding: .utf8)
        let runtime = text.components(separatedBy: "\nFROM ").last ?? ""
        #expect(runtime.hasPrefix("docker.io/library/debian:bookworm-slim"))
        #expect(runtime.contains("\nUSER 10001:10001\n"))
        #expect(runtime.contains(#"VOLUME ["/var/lib/rekindle/snapshots"]"#))
        #expect(runtime.contains(#"CMD ["run", "--snapshot-dir", "/var/lib/rekindle/snapshots"]"#))
        #expect(runtime.contains("HEALTHCHECK ") && runtime.contains("GET /health HTTP/1.0"))
    }
}

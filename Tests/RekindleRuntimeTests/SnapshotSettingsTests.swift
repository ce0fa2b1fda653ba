import Foundation
@testable import RekindleRuntime
import Testing

/// How many failed snapshot writes in a row end a run, and what `run` says of a store it cannot use.
@Suite struct SnapshotSettingsTests {
    @Test func theFailureLimitComesFromTheFileTheEnvironmentOrAFlag() throws {
        #expect(RunConfiguration().snapshotFailureLimit == 3)
        let url = try CLI.temporaryDirectory().appendingPathComponent("rekindle.yaml")
        try "snapshot_failure_limit: 5\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(try RunConfiguration.load(file: url.path, environment: [:]).snapshotFailureLimit == 5)
        #expect(try RunConfiguration.load(file: url.path, environment: ["REKINDLE_SNAPSHOT_FAILURE_LIMIT": "7"]).snapshotFailureLimit == 7)
        let env = #expect(throws: ConfigError.self) {
            try RunConfiguration.load(file: nil, environment: ["REKINDLE_SNAPSHOT_FAILURE_LIMIT": "0"])
        }
        #expect(env?.message == #"REKINDLE_SNAPSHOT_FAILURE_LIMIT: expected a whole number from 1 to 1000000, got string "0""#)
        try "snapshot_failure_limit: never\n".write(to: url, atomically: true, encoding: .utf8)
        let file = #expect(throws: ConfigError.self) { try RunConfiguration.load(file: url.path, environment: [:]) }
        #expect(file?.message == "\(url.path): snapshot_failure_limit: expected a whole number from 1 to 1000000, got string \"never\"")
        let flag = try CLI.rekindle(["run", "--bootstrap", "127.0.0.1:1", "--http", "off", "--snapshot-failure-limit", "0"])
        #expect(flag.status == 2)
        #expect(flag.stderr.contains("--snapshot-failure-limit: expected a whole number from 1 to 1000000, got 0"))
    }

    /// Before it connects to anything, `run` exits 1 naming a snapshot directory it cannot write.
    @Test func runRefusesASnapshotDirectoryItCannotWrite() throws {
        let root = try CLI.temporaryDirectory().path
        try Data("a file, not a directory".utf8).write(to: URL(fileURLWithPath: "\(root)/file"))
        let r = try CLI.rekindle(["run", "--bootstrap", "127.0.0.1:1", "--http", "off", "--snapshot-dir", "\(root)/file/snapshots"])
        #expect(r.status == 1)
        #expect(r.stderr.contains(
            "rekindle: snapshot directory \(root)/file/snapshots is not writable: cannot create directory \(root)/file/snapshots: Not a directory"),
            "\(r.stderr)")
    }
}

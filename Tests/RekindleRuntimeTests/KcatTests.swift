import Foundation
import RekindleCore
import Testing

/// Real processes end to end: `rekindle broker`, Debian's kcat producing the inputs and reading
/// the outputs, `rekindle run --stop-when-idle`, and the outputs validated against schemas/.
@Suite(.serialized) struct KcatTests {
    /// Starts `rekindle broker` and returns it with the bootstrap line it printed first.
    static func startBroker(partitions: Int) throws -> (Process, String) {
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = ["broker", "--partitions", "\(partitions)"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        var text = ""
        while !text.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }  // the broker died: the check below fails the test
            text += String(decoding: chunk, as: UTF8.self)
        }
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        guard line.hasPrefix("bootstrap: 127.0.0.1:") else {
            p.terminate()
            throw CLIError("broker printed \(text.debugDescription)")
        }
        return (p, String(line.dropFirst("bootstrap: ".count)))
    }

    struct CLIError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    static func kcat(_ args: [String], input: String? = nil) throws -> CLI.Result {
        let dir = try CLI.temporaryDirectory()
        var all = args
        if let input {
            let file = dir.appendingPathComponent("in")
            try input.write(to: file, atomically: true, encoding: .utf8)
            all += ["-l", file.path]
        }
        return try CLI.run(URL(fileURLWithPath: "/usr/bin/kcat"), all)
    }

    @Test func kcatProducesTheInputsAndReadsSchemaValidOutputsEqualToReplay() throws {
        let (broker, bootstrap) = try Self.startBroker(partitions: 2)
        defer { broker.terminate(); broker.waitUntilExit() }
        let lines = ReplayFixture.generated(customers: 300, days: 60, seed: 21)
        var perTopic: [String: [String]] = [:]
        for line in lines {
            guard case .success(let e) = EventDecoder.decode(line) else { continue }
            perTopic[e.topic.defaultName, default: []].append("\(e.customerId)\t\(line)")
        }
        // A bad message among them, keyed, as a faulty producer would send it.
        perTopic["orders", default: []].append("c1\t{\"type\":\"order\",\"broken\":")
        for (topic, messages) in perTopic.sorted(by: { $0.key < $1.key }) {
            // kcat's partitioner is librdkafka's default, consistent_random (CRC-32 of the key).
            let r = try Self.kcat(["-b", bootstrap, "-P", "-t", topic, "-K", "\t"], input: messages.joined(separator: "\n") + "\n")
            #expect(r.status == 0, "kcat -P \(topic): \(r.stderr)")
        }
        let run = try CLI.rekindle(["run", "--bootstrap", bootstrap, "--stop-when-idle", "1", "--http", "127.0.0.1:0",
                                    "--group-id", "kcat-test"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("task 0: watermark 20"))
        #expect(run.stdout.contains("task 1: watermark 20"))

        let dir = try CLI.temporaryDirectory()
        var files: [String: String] = [:]
        for topic in ["campaign-triggers", "campaign-conversions", "rekindle-dead-letters"] {
            let r = try Self.kcat(["-b", bootstrap, "-C", "-t", topic, "-e", "-q", "-f", "%s\\n"])
            #expect(r.status == 0, "kcat -C \(topic): \(r.stderr)")
            let file = dir.appendingPathComponent("\(topic).jsonl").path
            try r.stdout.write(toFile: file, atomically: true, encoding: .utf8)
            files[topic] = file
        }
        for (kind, topic) in [("trigger", "campaign-triggers"), ("conversion", "campaign-conversions"), ("dead_letter", "rekindle-dead-letters")] {
            let r = try CLI.python(["Tests/schema/validate.py", "--schemas", "schemas", "--kind", kind, files[topic]!])
            #expect(r.status == 0, "\(kind): \(r.stdout.suffix(1500))")
        }
        let dead = try String(contentsOfFile: files["rekindle-dead-letters"]!, encoding: .utf8)
        #expect(dead.contains("not valid JSON"))

        // The same events replayed with the partitioner kcat used give the same triggers.
        let events = dir.appendingPathComponent("events.jsonl").path
        try lines.joined(separator: "\n").write(toFile: events, atomically: true, encoding: .utf8)
        let replayed = dir.appendingPathComponent("replay.jsonl").path
        let replay = try CLI.rekindle(["replay", "--input", events, "--output", replayed, "--partitions", "2",
                                       "--partitioner", "crc32", "--quiet"])
        #expect(replay.status == 0)
        let live = try String(contentsOfFile: files["campaign-triggers"]!, encoding: .utf8).split(separator: "\n").sorted()
        let expected = try String(contentsOfFile: replayed, encoding: .utf8).split(separator: "\n").sorted()
        #expect(live.count > 300)
        #expect(live == expected)
    }
}

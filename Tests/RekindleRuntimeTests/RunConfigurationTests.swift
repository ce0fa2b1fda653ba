import Foundation
import RekindleRuntime
import Testing

@Suite struct RunConfigurationTests {
    func file(_ text: String) throws -> String {
        let url = try CLI.temporaryDirectory().appendingPathComponent("rekindle.yaml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func theEnvironmentBeatsTheFileAndTheFileBeatsTheDefaults() throws {
        let path = try file("""
            bootstrap: file:9092
            group_id: from-file
            http: 127.0.0.1:9000
            topics: {orders: shop.orders, triggers: shop.triggers}
            kafka: {security.protocol: SASL_SSL, sasl.username: file-user, queued.max.messages.kbytes: 4096}
            """)
        let c = try RunConfiguration.load(file: path, environment: [
            "REKINDLE_GROUP_ID": "from-env", "REKINDLE_KAFKA_SASL_USERNAME": "env-user",
            "REKINDLE_TOPIC_DEAD_LETTERS": "shop.dlq", "HOME": "/root",
        ])
        #expect(c.bootstrap == "file:9092")
        #expect(c.groupId == "from-env")
        #expect(c.http == "127.0.0.1:9000")
        #expect(c.topics.orders == "shop.orders")
        #expect(c.topics.productViews == "product-views")
        #expect(c.topics.triggers == "shop.triggers")
        #expect(c.topics.deadLetters == "shop.dlq")
        #expect(c.kafka == ["security.protocol": "SASL_SSL", "sasl.username": "env-user", "queued.max.messages.kbytes": "4096"])
    }

    @Test func aMistakeInTheFileNamesTheKey() throws {
        #expect(throws: ConfigError.self) { try RunConfiguration.load(file: try file("bootstrapp: x\n"), environment: [:]) }
        #expect(throws: ConfigError.self) { try RunConfiguration.load(file: try file("topics: {refunds: r}\n"), environment: [:]) }
        #expect(throws: ConfigError.self) { try RunConfiguration.load(file: "/nonexistent.yaml", environment: [:]) }
        #expect(throws: ConfigError.self) {
            try RunConfiguration.load(file: nil, environment: ["REKINDLE_ALLOWED_LATENESS_MS": "soon"])
        }
    }

    @Test func aFlagBeatsTheEnvironmentAndBadSettingsExit2() throws {
        // The flag's bootstrap is used: the run fails fast on a bad --http, proving it got that far.
        let bad = try CLI.rekindle(["run", "--bootstrap", "127.0.0.1:1", "--http", "nonsense"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--http: expected HOST:PORT or off"))
        let noBootstrap = try CLI.rekindle(["run", "--http", "off"])
        #expect(noBootstrap.status == 2)
        let badFile = try CLI.rekindle(["run", "--config", try file("kafka: [1, 2]\n")])
        #expect(badFile.status == 2)
        #expect(badFile.stderr.contains("kafka: expected a mapping"))
    }
}

import Foundation
import RekindleCore

/// A configuration mistake, with the key that caused it: exit 2.
public struct ConfigError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// `rekindle run`'s settings: defaults, then a YAML file, then `REKINDLE_*` environment
/// variables, then flags (each beats the one before).
public struct RunConfiguration: Sendable, Equatable {
    public var bootstrap: String?
    public var groupId = "rekindle"
    public var rulesPath: String?
    public var http = "127.0.0.1:9464"
    public var allowedLatenessMs: Int64 = 0
    /// An event more than this far ahead of its message's timestamp is a bad input (1 ms to 100 years).
    public var maxFutureSkewMs: Int64 = EventDecoder.defaultMaxFutureSkewMs
    public var topics = TopicNames()
    /// Passed to librdkafka as-is (SASL, TLS, tuning).
    public var kafka: [String: String] = [:]
    public var snapshotDir: String?
    /// Keep snapshots on the Kafka topic `topics.snapshots` instead of a directory.
    public var snapshotsInKafka = false
    public var snapshotIntervalSeconds: Double = 30
    public var snapshotEveryEvents = 500_000
    /// Failed snapshot writes in a row that end the run.
    public var snapshotFailureLimit = 3

    public init() {}

    nonisolated(unsafe) static let topicKeys: [(key: String, path: WritableKeyPath<TopicNames, String>)] = [
        ("orders", \.orders), ("product_views", \.productViews), ("email_opens", \.emailOpens),
        ("triggers", \.triggers), ("conversions", \.conversions), ("dead_letters", \.deadLetters),
        ("snapshots", \.snapshots),
    ]

    /// Lays a YAML file (if any) and the environment over the defaults.
    public static func load(file: String?, environment: [String: String]) throws -> RunConfiguration {
        var c = RunConfiguration()
        if let file { try c.apply(file: file) }
        try c.apply(environment: environment)
        return c
    }

    mutating func apply(file: String) throws {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ConfigError("\(file): cannot read the configuration file")
        }
        let tree: JSONValue
        do { tree = try RuleFile.parse(text) } catch { throw ConfigError("\(file): \(error.message)") }
        guard case .object(let members) = tree else { throw ConfigError("\(file): expected a mapping") }
        func string(_ v: JSONValue, _ key: String) throws -> String {
            switch v {
            case .string(let s): return s
            case .number(let d): return d == d.rounded() ? String(Int64(d)) : String(d)
            case .bool(let b): return b ? "true" : "false"
            default: throw ConfigError("\(file): \(key): expected a scalar, got \(v.described)")
            }
        }
        for m in members {
            switch m.key {
            case "bootstrap": bootstrap = try string(m.value, m.key)
            case "group_id": groupId = try string(m.value, m.key)
            case "rules": rulesPath = try string(m.value, m.key)
            case "http": http = try string(m.value, m.key)
            case "allowed_lateness_ms":
                guard let v = Int64(try string(m.value, m.key)), v >= 0 else {
                    throw ConfigError("\(file): allowed_lateness_ms: expected a whole number >= 0")
                }
                allowedLatenessMs = v
            case "max_future_skew_ms":
                maxFutureSkewMs = try Self.futureSkew(try string(m.value, m.key), name: "\(file): max_future_skew_ms")
            case "topics":
                guard case .object(let ts) = m.value else { throw ConfigError("\(file): topics: expected a mapping") }
                for t in ts {
                    guard let entry = Self.topicKeys.first(where: { $0.key == t.key }) else {
                        throw ConfigError("\(file): topics.\(t.key): unknown topic (expected \(Self.topicKeys.map(\.key).joined(separator: ", ")))")
                    }
                    topics[keyPath: entry.path] = try string(t.value, "topics.\(t.key)")
                }
            case "snapshot_dir": snapshotDir = try string(m.value, m.key)
            case "snapshot_store":
                switch try string(m.value, m.key) {
                case "kafka": snapshotsInKafka = true
                case "directory": snapshotsInKafka = false
                default: throw ConfigError("\(file): snapshot_store: expected kafka or directory")
                }
            case "snapshot_interval_seconds":
                guard let v = Double(try string(m.value, m.key)), v > 0 else {
                    throw ConfigError("\(file): snapshot_interval_seconds: expected a number > 0")
                }
                snapshotIntervalSeconds = v
            case "snapshot_every_events":
                guard let v = Int(try string(m.value, m.key)), v > 0 else {
                    throw ConfigError("\(file): snapshot_every_events: expected a whole number > 0")
                }
                snapshotEveryEvents = v
            case "snapshot_failure_limit":
                guard let v = Int(try string(m.value, m.key)), v > 0 else {
                    throw ConfigError("\(file): snapshot_failure_limit: expected a whole number > 0")
                }
                snapshotFailureLimit = v
            case "kafka":
                guard case .object(let props) = m.value else { throw ConfigError("\(file): kafka: expected a mapping") }
                for p in props { kafka[p.key] = try string(p.value, "kafka.\(p.key)") }
            default:
                throw ConfigError("\(file): \(m.key): unknown key (expected bootstrap, group_id, rules, http, allowed_lateness_ms, max_future_skew_ms, snapshot_dir, snapshot_store, snapshot_interval_seconds, snapshot_every_events, snapshot_failure_limit, topics, kafka)")
            }
        }
    }

    mutating func apply(environment env: [String: String]) throws {
        if let v = env["REKINDLE_BOOTSTRAP"] { bootstrap = v }
        if let v = env["REKINDLE_GROUP_ID"] { groupId = v }
        if let v = env["REKINDLE_RULES"] { rulesPath = v }
        if let v = env["REKINDLE_HTTP"] { http = v }
        if let v = env["REKINDLE_SNAPSHOT_DIR"] { snapshotDir = v }
        if let v = env["REKINDLE_SNAPSHOT_FAILURE_LIMIT"] {
            guard let n = Int(v), n > 0 else { throw ConfigError("REKINDLE_SNAPSHOT_FAILURE_LIMIT: expected a whole number > 0") }
            snapshotFailureLimit = n
        }
        if let v = env["REKINDLE_ALLOWED_LATENESS_MS"] {
            guard let ms = Int64(v), ms >= 0 else { throw ConfigError("REKINDLE_ALLOWED_LATENESS_MS: expected a whole number >= 0") }
            allowedLatenessMs = ms
        }
        if let v = env["REKINDLE_MAX_FUTURE_SKEW_MS"] {
            maxFutureSkewMs = try Self.futureSkew(v, name: "REKINDLE_MAX_FUTURE_SKEW_MS")
        }
        for entry in Self.topicKeys {
            if let v = env["REKINDLE_TOPIC_" + entry.key.uppercased()] { topics[keyPath: entry.path] = v }
        }
        // REKINDLE_KAFKA_SASL_USERNAME=x sets librdkafka's sasl.username.
        for (k, v) in env.sorted(by: { $0.key < $1.key }) where k.hasPrefix("REKINDLE_KAFKA_") {
            kafka[k.dropFirst("REKINDLE_KAFKA_".count).lowercased().replacingOccurrences(of: "_", with: ".")] = v
        }
    }
}

extension RunConfiguration {
    /// `max_future_skew_ms`: a whole number of milliseconds from 1 to 100 years; `name` says where
    /// the value came from (a file's key, an environment variable or a flag).
    public static func futureSkew(_ text: String, name: String) throws -> Int64 {
        let limit = EventDecoder.maxFutureSkewLimitMs
        guard let v = Int64(text), v >= 1, v <= limit else {
            throw ConfigError("\(name): expected a whole number of milliseconds from 1 to \(limit) (100 years), got \(JSONWriter.quoted(text))")
        }
        return v
    }
}

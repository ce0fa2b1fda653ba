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
    /// The status server's bearer token itself (`REKINDLE_HTTP_TOKEN`), or a file holding it
    /// (`http_token_file`, `--http-token-file`); see `statusSecurity(host:)`.
    public var httpToken: String?
    public var httpTokenFile: String?
    /// PEM files for HTTPS on the status server; both or neither.
    public var httpTLSCertificate: String?
    public var httpTLSKey: String?
    /// Log lines name customers only when this is set (`--log-customer-ids`).
    public var logCustomerIds = false
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
    /// Where each setting that is not a default came from, for error messages: `FILE: key`,
    /// `REKINDLE_HTTP` or `--http`. Keyed by the file's key.
    public var origins: [String: String] = [:]

    public init() {}

    /// The accepted values of the numeric settings (and of `--stop-when-idle`).
    public static let ranges: [String: ParamRange] = [
        // Ten years: a lateness past the span of any event history only holds every touch back.
        "allowed_lateness_ms": .whole(0...315_360_000_000, "milliseconds"),
        "snapshot_interval_seconds": .number(0.01...86_400, "seconds"),
        "snapshot_every_events": .whole(1...1_000_000_000, "events"),
        "stop_when_idle_seconds": .number(0...604_800, "seconds"),
        // An event further ahead of its message's timestamp is a bad input (a broken clock).
        "max_future_skew_ms": .whole(1...Int(EventDecoder.maxFutureSkewLimitMs), "milliseconds"),
        "snapshot_failure_limit": .whole(1...1_000_000, "failed writes in a row"),
    ]

    /// `value` if it is within the setting's range, else an error naming where it came from.
    public static func checked(_ key: String, _ value: Double?, text: String, from origin: String) throws -> Double {
        guard let range = ranges[key] else { preconditionFailure("\(key): no range stated") }
        guard let value, range.contains(value) else {
            throw ConfigError("\(origin): expected \(range.text), got \(text)")
        }
        return value
    }

    /// `text` (an environment variable's or a flag's string) as a number within `key`'s range.
    public static func checked(_ key: String, text: String, from origin: String) throws -> Double {
        try checked(key, Double(text), text: JSONValue.string(text).described, from: origin)
    }

    /// Where `key`'s value came from (`flag` when it is still the default).
    public func origin(of key: String, flag: String) -> String { origins[key] ?? flag }

    /// Documentation of the ranges (docs/rule-ranges.md).
    public static var rangeTable: String {
        var out = "| setting | accepted values | unit |\n|---|---|---|\n"
        for (k, r) in ranges.sorted(by: { $0.key < $1.key }) { out += "| `\(k)` | \(r.text) | \(r.unit) |\n" }
        return out
    }

    nonisolated(unsafe) static let topicKeys: [(key: String, path: WritableKeyPath<TopicNames, String>)] = [
        ("orders", \.orders), ("product_views", \.productViews), ("email_opens", \.emailOpens),
        ("triggers", \.triggers), ("conversions", \.conversions), ("dead_letters", \.deadLetters), ("withheld", \.withheld),
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
        let text: String
        do { text = try RuleFile.readText(path: file, what: "configuration file") } catch { throw ConfigError(error.message) }
        let tree: JSONValue
        do { tree = try RuleFile.parse(text) } catch { throw ConfigError("\(file): \(error.message)") }
        guard case .object(let members) = tree else { throw ConfigError("\(file): expected a mapping") }
        func string(_ v: JSONValue, _ key: String) throws -> String {
            switch v {
            case .string(let s): return s
            case .number(let d): return RuleSet.plainNumber(d)
            case .bool(let b): return b ? "true" : "false"
            default: throw ConfigError("\(file): \(key): expected a scalar, got \(v.described)")
            }
        }
        func number(_ v: JSONValue, _ key: String) throws -> Double {
            let d: Double?
            switch v {
            case .number(let x): d = x
            case .string(let s): d = Double(s)
            default: d = nil
            }
            return try Self.checked(key, d, text: v.described, from: "\(file): \(key)")
        }
        for m in members {
            origins[m.key] = "\(file): \(m.key)"
            switch m.key {
            case "bootstrap": bootstrap = try string(m.value, m.key)
            case "group_id": groupId = try string(m.value, m.key)
            case "rules": rulesPath = try string(m.value, m.key)
            case "http": http = try string(m.value, m.key)
            case "http_token_file": httpTokenFile = try string(m.value, m.key)
            case "http_tls_certificate": httpTLSCertificate = try string(m.value, m.key)
            case "http_tls_key": httpTLSKey = try string(m.value, m.key)
            case "log_customer_ids":
                guard case .bool(let b) = m.value else { throw ConfigError("\(file): log_customer_ids: expected true or false, got \(m.value.described)") }
                logCustomerIds = b
            case "allowed_lateness_ms": allowedLatenessMs = Int64(try number(m.value, m.key))
            case "max_future_skew_ms": maxFutureSkewMs = Int64(try number(m.value, m.key))
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
            case "snapshot_interval_seconds": snapshotIntervalSeconds = try number(m.value, m.key)
            case "snapshot_every_events": snapshotEveryEvents = Int(try number(m.value, m.key))
            case "snapshot_failure_limit": snapshotFailureLimit = Int(try number(m.value, m.key))
            case "kafka":
                guard case .object(let props) = m.value else { throw ConfigError("\(file): kafka: expected a mapping") }
                for p in props { kafka[p.key] = try string(p.value, "kafka.\(p.key)") }
            default:
                throw ConfigError("\(file): \(m.key): unknown key (expected bootstrap, group_id, rules, http, http_token_file, http_tls_certificate, http_tls_key, log_customer_ids, allowed_lateness_ms, max_future_skew_ms, snapshot_dir, snapshot_store, snapshot_interval_seconds, snapshot_every_events, snapshot_failure_limit, topics, kafka)")
            }
        }
    }

    mutating func apply(environment env: [String: String]) throws {
        let names = ["bootstrap", "group_id", "rules", "http", "http_token", "http_tls_certificate", "http_tls_key", "snapshot_dir", "allowed_lateness_ms"]
        for key in names where env["REKINDLE_" + key.uppercased()] != nil { origins[key] = "REKINDLE_" + key.uppercased() }
        if let v = env["REKINDLE_BOOTSTRAP"] { bootstrap = v }
        if let v = env["REKINDLE_GROUP_ID"] { groupId = v }
        if let v = env["REKINDLE_RULES"] { rulesPath = v }
        if let v = env["REKINDLE_HTTP"] { http = v }
        if let v = env["REKINDLE_HTTP_TOKEN"] { httpToken = v }
        if let v = env["REKINDLE_HTTP_TLS_CERTIFICATE"] { httpTLSCertificate = v }
        if let v = env["REKINDLE_HTTP_TLS_KEY"] { httpTLSKey = v }
        if let v = env["REKINDLE_SNAPSHOT_DIR"] { snapshotDir = v }
        if let v = env["REKINDLE_SNAPSHOT_FAILURE_LIMIT"] {
            snapshotFailureLimit = Int(try Self.checked("snapshot_failure_limit", text: v, from: "REKINDLE_SNAPSHOT_FAILURE_LIMIT"))
        }
        if let v = env["REKINDLE_ALLOWED_LATENESS_MS"] {
            allowedLatenessMs = Int64(try Self.checked("allowed_lateness_ms", text: v, from: "REKINDLE_ALLOWED_LATENESS_MS"))
        }
        if let v = env["REKINDLE_MAX_FUTURE_SKEW_MS"] {
            maxFutureSkewMs = Int64(try Self.checked("max_future_skew_ms", text: v, from: "REKINDLE_MAX_FUTURE_SKEW_MS"))
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

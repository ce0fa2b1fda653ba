import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A minimal HTTP GET for talking to a running instance's `StatusServer` (`rekindle inspect`).
public enum StatusClient {
    public enum Failure: Error, CustomStringConvertible {
        /// The URL could not be parsed.
        case badURL(String)
        /// Nothing answered (connection refused, host not found, timeout, ...).
        case unreachable(url: String, reason: String)

        public var description: String {
            switch self {
            case .badURL(let url): "bad URL \(url)"
            case .unreachable(let url, let reason): "cannot reach \(url): \(reason)"
            }
        }
    }

    /// GETs `url` with `headers` and returns the status code and body, whatever the status. Throws
    /// `Failure.unreachable` when no HTTP answer came back within `timeout` seconds.
    public static func get(_ url: String, timeout: Double = 10, headers: [String: String] = [:]) async throws -> (status: Int, body: [UInt8]) {
        guard let u = URL(string: url), let scheme = u.scheme, ["http", "https"].contains(scheme.lowercased()) else {
            throw Failure.badURL(url)
        }
        var request = URLRequest(url: u, cachePolicy: .reloadIgnoringLocalAndRemoteCacheData, timeoutInterval: timeout)
        request.httpMethod = "GET"
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        configuration.connectionProxyDictionary = [:]  // never go through a proxy to reach loopback
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        let data: Data, response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch let error as URLError {
            throw Failure.unreachable(url: url, reason: reason(error))
        }
        guard let http = response as? HTTPURLResponse else {
            throw Failure.unreachable(url: url, reason: "not an HTTP response")
        }
        return (http.statusCode, [UInt8](data))
    }

    private static func reason(_ error: URLError) -> String {
        switch error.code {
        case .cannotConnectToHost: "connection refused (is `rekindle run` serving --http there?)"
        case .timedOut: "timed out"
        case .cannotFindHost, .dnsLookupFailed: "host not found"
        case .networkConnectionLost: "connection closed before a response"
        case .notConnectedToInternet: "network unavailable"
        default: "URL error \(error.code.rawValue)"
        }
    }
}

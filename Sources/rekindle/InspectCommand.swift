import ArgumentParser
import Foundation
import RekindleRuntime

struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show one customer's state from a running instance.",
        discussion: """
            Asks the status server of a running `rekindle run` (its --http address) for the \
            customer's state and prints it as JSON. Exits 1 when that instance does not hold the \
            customer (it may live on another instance of the group) or when nothing answers.
            """)

    @Argument(help: "The customer_id.")
    var customer: String

    @Option(name: .customLong("http"), help: ArgumentHelp("Status address of the running instance.", valueName: "addr"))
    var http: String = "\(StatusServer.defaultHost):\(StatusServer.defaultPort)"

    @Option(name: .long, help: "A file holding the instance's bearer token (else REKINDLE_HTTP_TOKEN, if set).")
    var httpTokenFile: String?

    /// "https" when `--http` says so (a certificate the system trusts), else "http".
    var scheme: String { http.lowercased().hasPrefix("https://") ? "https" : "http" }

    /// `--http` without a scheme or trailing slash: "127.0.0.1:9464".
    var address: String {
        var a = Substring(http)
        if a.lowercased().hasPrefix(scheme + "://") { a = a.dropFirst(scheme.count + 3) }
        while a.hasSuffix("/") { a = a.dropLast() }
        return String(a)
    }

    func validate() throws {
        guard !customer.isEmpty else { throw ValidationError("customer: must not be empty") }
        guard StatusServer.parseAddress(address) != nil else {
            throw ValidationError("--http: expected HOST:PORT (e.g. 127.0.0.1:9464), got \"\(http)\"")
        }
    }

    func run() async throws {
        let url = "\(scheme)://\(address)/customers/\(Self.percentEncoded(customer))"
        var token = ProcessInfo.processInfo.environment["REKINDLE_HTTP_TOKEN"]
        if let file = httpTokenFile {
            do { token = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw UsageError(message: "--http-token-file: cannot read \(file) (\((error as NSError).localizedDescription))")
            }
        }
        let headers = token.map { ["Authorization": "Bearer " + $0.trimmingCharacters(in: .whitespacesAndNewlines)] } ?? [:]
        let status: Int, body: [UInt8]
        do {
            (status, body) = try await StatusClient.get(url, headers: headers)
        } catch {
            Self.fail("\(error)")
        }
        switch status {
        case 200:
            var out = body
            if out.last != UInt8(ascii: "\n") { out.append(UInt8(ascii: "\n")) }
            FileHandle.standardOutput.write(Data(out))
        case 404:
            Self.fail("no customer \(customer) on \(address)")
        case 401:
            Self.fail("\(address) wants a bearer token: \(token == nil ? "set REKINDLE_HTTP_TOKEN or --http-token-file" : "the one given was refused")")
        default:
            let text = String(decoding: body.prefix(500), as: UTF8.self)
            Self.fail("\(address) answered HTTP \(status)\(text.isEmpty ? "" : ": \(text)")")
        }
    }

    /// Path-segment encoding: everything but RFC 3986 unreserved characters is %XX (UTF-8).
    /// "." is encoded too, so an id of "." or ".." is not taken for a dot segment.
    static func percentEncoded(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }

    /// "rekindle: <message>" on stderr, exit 1 (independent of how the root command maps errors).
    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("rekindle: \(message)\n".utf8))
        Foundation.exit(1)
    }
}

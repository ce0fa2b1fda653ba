import Foundation
import Hummingbird
import HummingbirdTLS
import NIOSSL

/// The status server's certificate chain and private key (PEM files), read and checked once,
/// before the server starts, so a wrong path or a mismatched pair stops `rekindle run` at once.
public struct StatusTLS: Sendable {
    public let certificatePath: String
    public let keyPath: String
    let configuration: TLSConfiguration

    /// `origin` names where the paths came from (`--http-tls-cert`, `FILE: http_tls_certificate`)
    /// for the error message.
    public init(certificate: String, key: String, origin: String) throws(ConfigError) {
        certificatePath = certificate
        keyPath = key
        for (path, what) in [(certificate, "certificate"), (key, "private key")] where !FileManager.default.isReadableFile(atPath: path) {
            throw ConfigError("\(origin): TLS \(what) \(path): no readable file there")
        }
        let chain: [NIOSSLCertificate], privateKey: NIOSSLPrivateKey
        do { chain = try NIOSSLCertificate.fromPEMFile(certificate) } catch {
            throw ConfigError("\(origin): TLS certificate \(certificate): not a PEM certificate (\(error))")
        }
        guard !chain.isEmpty else { throw ConfigError("\(origin): TLS certificate \(certificate): no certificate in the file") }
        do { privateKey = try NIOSSLPrivateKey(file: key, format: .pem) } catch {
            throw ConfigError("\(origin): TLS private key \(key): not a PEM private key (\(error))")
        }
        configuration = .makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        // Making the context is where BoringSSL checks that the key belongs to the certificate.
        do { _ = try NIOSSLContext(configuration: configuration) } catch {
            throw ConfigError("\(origin): TLS private key \(key) and certificate \(certificate) do not make a TLS context (\(error)); is the key the certificate's?")
        }
    }
}

import Foundation

extension RunConfiguration {
    /// The status server's bearer token and TLS, read from their files and checked before anything
    /// connects. Refuses an address other machines can reach (`StatusServer.isLoopback`) without a
    /// token: `/customers/{id}` shows a customer's state and `/metrics` the business's volumes.
    ///
    /// The token comes from `--http-token-file` (recorded in `httpTokenFile` with origin
    /// `--http-token-file`), else `REKINDLE_HTTP_TOKEN`, else the file's `http_token_file`.
    public func statusSecurity(host: String, port: Int) throws(ConfigError) -> (token: BearerToken?, tls: StatusTLS?) {
        let token = try bearerToken()
        if token == nil && !StatusServer.isLoopback(host: host) {
            throw ConfigError(
                "\(origin(of: "http", flag: "--http")): the status server on \(host):\(port) can be reached from other machines, so it needs a bearer token: set REKINDLE_HTTP_TOKEN, --http-token-file FILE or http_token_file in --config (or bind 127.0.0.1)")
        }
        var tls: StatusTLS?
        switch (httpTLSCertificate, httpTLSKey) {
        case (nil, nil): tls = nil
        case (let cert?, let key?):
            let origin = [origin(of: "http_tls_certificate", flag: "--http-tls-certificate"), origin(of: "http_tls_key", flag: "--http-tls-key")]
            tls = try StatusTLS(certificate: cert, key: key, origin: Set(origin).sorted().joined(separator: " and "))
        case (_?, nil):
            throw ConfigError("\(origin(of: "http_tls_certificate", flag: "--http-tls-certificate")): a TLS certificate needs its private key too (--http-tls-key, REKINDLE_HTTP_TLS_KEY or http_tls_key)")
        case (nil, _?):
            throw ConfigError("\(origin(of: "http_tls_key", flag: "--http-tls-key")): a TLS private key needs its certificate too (--http-tls-certificate, REKINDLE_HTTP_TLS_CERTIFICATE or http_tls_certificate)")
        }
        return (token, tls)
    }

    /// The token by precedence: a file named by the flag, the environment, a file named by --config.
    private func bearerToken() throws(ConfigError) -> BearerToken? {
        let text: String, source: String
        let fileOrigin = origin(of: "http_token_file", flag: "--http-token-file")
        if let file = httpTokenFile, httpToken == nil || fileOrigin == "--http-token-file" {
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw ConfigError("\(fileOrigin): cannot read the bearer token file \(file) (\((error as NSError).localizedDescription))")
            }
            source = "\(fileOrigin): \(file)"
        } else if let value = httpToken {
            text = value
            source = "REKINDLE_HTTP_TOKEN"
        } else {
            return nil
        }
        guard let token = BearerToken(text) else {
            throw ConfigError("\(source): a bearer token needs at least \(BearerToken.minimumLength) characters, none of them spaces or control characters")
        }
        return token
    }
}

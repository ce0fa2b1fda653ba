import Foundation
import Crypto

/// The shared secret the status server asks for on `/metrics` and `/customers/{id}`
/// (`Authorization: Bearer TOKEN`).
///
/// Only the token's SHA-256 is kept. A presented token is hashed too and the two digests are
/// compared byte by byte without an early exit, so neither the time taken nor the path through
/// the code depends on how much of the token was right, or on its length.
public struct BearerToken: Sendable {
    /// Shorter tokens are refused: a status server off loopback must not be guessable.
    public static let minimumLength = 16

    private let digest: [UInt8]

    /// Nil when `text` (surrounding whitespace and newlines trimmed, as a token file has them) is
    /// shorter than `minimumLength` bytes or holds whitespace or control characters (which a
    /// header cannot carry).
    public init?(_ text: String) {
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.utf8.count >= Self.minimumLength,
            token.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F })
        else { return nil }
        digest = Self.hash(token)
    }

    /// True when `header` is exactly `Bearer TOKEN` (the scheme case-insensitive, RFC 6750).
    public func accepts(authorization header: String?) -> Bool {
        guard let header else { return false }
        let scheme = "bearer "
        guard header.utf8.count > scheme.utf8.count, header.prefix(scheme.count).lowercased() == scheme else {
            return false
        }
        return Self.equal(Self.hash(header.dropFirst(scheme.count)), digest)
    }

    private static func hash<S: StringProtocol>(_ text: S) -> [UInt8] {
        Array(SHA256.hash(data: Array(text.utf8)))
    }

    /// Constant time over two 32-byte digests: every byte is looked at whatever differs.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }  // both SHA-256: never taken
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}

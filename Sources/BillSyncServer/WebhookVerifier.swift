import BillSyncProviders
import Crypto
import Foundation

/// Checks that a webhook comes from the provider: UsageFlow's HMAC-SHA256 signatures (legacy
/// and `v1=` with a timestamp within ±300 s), or a shared secret in a header. Every comparison
/// is constant-time (swift-crypto's); the reason for a refusal is for the log, never the answer.
struct WebhookVerifier {
    /// Why a webhook was refused, as the log's `reason`.
    enum Rejection: String, Error {
        case missingSignature = "missing_signature"
        case malformedSignature = "malformed_signature"
        case badSignature = "bad_signature"
        case missingTimestamp = "missing_timestamp"
        case staleTimestamp = "stale_timestamp"
        case missingSecret = "missing_secret_header"
        case badSecret = "bad_secret"
    }

    static let tolerance: Int64 = 300

    let scheme: WebhookScheme
    /// The current secret, then the previous one during a rotation.
    let secrets: [String]
    let secretHeader: String?

    /// `header(name)` reads a request header (case-insensitively).
    func verify(header: (String) -> String?, body: [UInt8], now: Int64) throws(Rejection) {
        switch scheme {
        case .usageFlowHMAC:
            guard let signature = header("X-UsageFlow-Signature")?.trimmingCharacters(in: .whitespaces),
                !signature.isEmpty
            else { throw .missingSignature }
            var signed = body
            var hex = Substring(signature)
            if signature.hasPrefix("v1=") {
                guard let text = header("X-UsageFlow-Timestamp"), let timestamp = Int64(text) else {
                    throw .missingTimestamp
                }
                guard abs(now - timestamp) <= Self.tolerance else { throw .staleTimestamp }
                signed = Array("\(timestamp).".utf8) + body
                hex = hex.dropFirst(3)
            }
            guard let mac = Self.bytes(hex: hex), mac.count == SHA256.byteCount else { throw .malformedSignature }
            for secret in secrets
            where HMAC<SHA256>.isValidAuthenticationCode(
                mac, authenticating: signed, using: SymmetricKey(data: Array(secret.utf8)))
            {
                return
            }
            throw .badSignature
        case .secretHeader:
            guard let name = secretHeader, let sent = header(name), !sent.isEmpty else { throw .missingSecret }
            // Digests of equal length, compared in constant time: no length or prefix leaks.
            let digest = SHA256.hash(data: Array(sent.utf8))
            for secret in secrets where SHA256.hash(data: Array(secret.utf8)) == digest { return }
            throw .badSecret
        }
    }

    static func bytes(hex: Substring) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let high = nibble(digits[i]), let low = nibble(digits[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// The deliveries seen lately, so that a provider's retries count once: by event id, or, for
/// events without one, by type, invoice id and timestamp. Holds the last 10,000.
final class DeliveryLog: @unchecked Sendable {
    private let lock = NSLock()
    private var seen = Set<String>()
    private var order: [String] = []
    static let capacity = 10_000

    /// True the first time `key` is seen.
    func first(_ key: String) -> Bool {
        lock.withLock {
            guard seen.insert(key).inserted else { return false }
            order.append(key)
            if order.count > Self.capacity { seen.remove(order.removeFirst()) }
            return true
        }
    }
}

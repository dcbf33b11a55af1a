import Synchronization

/// Every API key the process has read, so that log output can blank them out as a last
/// line of defence (nothing is supposed to log a key in the first place).
public final class SecretRegistry: Sendable {
    public static let shared = SecretRegistry()
    private let secrets = Mutex<[String]>([])

    public func add(_ secret: String) {
        guard secret.count >= 4 else { return }
        secrets.withLock { if !$0.contains(secret) { $0.append(secret) } }
    }

    public func redact(_ text: String) -> String {
        let list = secrets.withLock { $0 }
        var out = text
        for secret in list where out.contains(secret) {
            out = out.split(separator: secret, omittingEmptySubsequences: false).joined(separator: "[redacted]")
        }
        return out
    }
}

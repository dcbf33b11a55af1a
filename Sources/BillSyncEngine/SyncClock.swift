import BillSyncCore
import Foundation

/// The wall clock syncs use. `BILLSYNC_NOW` (unix seconds or an ISO-8601 instant) pins
/// it, so that a backfill can be reproduced exactly ("up to the last whole hour" of a
/// fixed moment).
public struct SyncClock: Sendable {
    public let fixed: Int64?
    private let reading: (@Sendable () -> Int64)?

    public init(fixed: Int64? = nil) {
        self.fixed = fixed
        reading = nil
    }

    /// A clock read from `reading` each time: for tests in which time passes during a sync.
    public init(reading: @escaping @Sendable () -> Int64) {
        fixed = nil
        self.reading = reading
    }

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> SyncClock {
        guard let text = env["BILLSYNC_NOW"], !text.isEmpty else { return SyncClock() }
        return SyncClock(fixed: Int64(text) ?? UTC.parse(text))
    }

    public func now() -> Int64 { fixed ?? reading?() ?? Int64(Date().timeIntervalSince1970) }
}

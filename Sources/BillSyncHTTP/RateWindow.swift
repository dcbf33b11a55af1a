import BillSyncCore
import Foundation

/// Paces requests so that no sliding window of `period` ever holds more than
/// `requests` of them: the server's own window, however it aligns, never overflows.
public struct RateWindow: Sendable {
    public let limit: RateLimit
    private var sent: [Double] = []   // monotonic seconds of the last `requests` sends, oldest first
    private var head = 0
    /// A little slack so that clock skew between us and the server cannot tip a request over.
    private let margin: Double

    public init(limit: RateLimit) {
        self.limit = limit
        margin = min(1.0, limit.period * 0.02)
        sent.reserveCapacity(limit.requests)
    }

    /// How long to wait before the next request may go out at `now`.
    public func delay(at now: Double) -> Double {
        guard sent.count >= limit.requests else { return 0 }
        let oldest = sent[head]
        return max(0, oldest + limit.period + margin - now)
    }

    /// Counts a send at `now`; returns its place, for ``settle(_:at:)``.
    @discardableResult
    public mutating func record(at now: Double) -> Int {
        if sent.count < limit.requests {
            sent.append(now)
            return sent.count - 1
        }
        let place = head
        sent[head] = now
        head = (head + 1) % limit.requests
        return place
    }

    /// Moves a send counted at ``record(at:)`` to `time` if that is later: once its answer
    /// is in, a request is known to have reached the server by then, however late it left
    /// (a connection kept waiting for a CPU, a slow network), so the window never counts it
    /// as older than the server does.
    public mutating func settle(_ place: Int, at time: Double) {
        guard place < sent.count else { return }
        sent[place] = max(sent[place], time)
    }

    /// Pushes every remembered send forward so the window is treated as full until `until`
    /// (after a 429 the server's view of the window wins over ours).
    public mutating func block(until: Double) {
        let filler = until - limit.period - margin
        sent = Array(repeating: filler, count: limit.requests)
        head = 0
    }
}

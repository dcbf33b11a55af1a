import BillSyncCore
import Foundation

/// A source's ``RateWindow`` and request count, shared by every connection the source uses.
///
/// Thread-safe: connections on several threads ask and report under one lock, so together
/// they never overfill the window.
public final class Pacing: @unchecked Sendable {
    private let condition = NSCondition()
    private var window: RateWindow
    private var requests = 0

    /// `rateLimit` nil: no pacing of its own (loopback only); a 429's wait still holds every connection.
    public init(rateLimit: RateLimit?) {
        window = RateWindow(limit: rateLimit)
    }

    /// Waits until the window lets a request go, then lets it go and counts it. Before each
    /// wait, `willWait` hears how long and why; it may throw to give up instead.
    /// Waits in slices of at most 0.1 s, so that a stop is honoured promptly.
    func acquire(
        stop: StopFlag,
        willWait: (Double, RateWindow.WaitReason) throws(HTTPFailure) -> Void
    ) throws(HTTPFailure) -> RateWindow.Ticket {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if stop.isSet { throw .stopped }
            switch window.pace(at: monotonicSeconds()) {
            case .go:
                requests += 1
                return window.grant()
            case .waitForAnswer:
                _ = condition.wait(until: Date(timeIntervalSinceNow: 0.1))
            case .wait(let seconds, let reason):
                condition.unlock()
                defer { condition.lock() }
                try willWait(seconds, reason)
                try Self.pause(seconds, stop: stop)
            }
        }
    }

    /// The request of `ticket` was answered (or failed) at `time`; `server` is what its
    /// headers said of the server's window.
    func answered(_ ticket: RateWindow.Ticket, at time: Double, server: ServerWindow?) {
        condition.withLock { window.answered(ticket, at: time, server: server) }
        condition.broadcast()
    }

    /// The request of `ticket` was answered 429 at `time`, asking every connection to wait `wait` seconds.
    func rateLimited(_ ticket: RateWindow.Ticket, at time: Double, wait: Double, server: ServerWindow?) {
        condition.withLock { window.rateLimited(ticket, at: time, wait: wait, server: server) }
        condition.broadcast()
    }

    public var requestsMade: Int { condition.withLock { requests } }

    /// Sleeps `seconds` in short slices so that a stop request is honoured promptly.
    static func pause(_ seconds: Double, stop: StopFlag) throws(HTTPFailure) {
        let end = monotonicSeconds() + seconds
        while true {
            if stop.isSet { throw .stopped }
            let left = end - monotonicSeconds()
            if left <= 0 { return }
            usleep(useconds_t(min(left, 0.1) * 1_000_000))
        }
    }
}

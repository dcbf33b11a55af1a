import Glibc
import Synchronization

/// Sliding-window request limits per provider key, on the monotonic clock.
///
/// Windows are tracked whether or not they are enforced, so that Northflank's
/// `x-ratelimit-*` headers always describe the real recent traffic.
final class RateLimiter: Sendable {
    /// The window as the `x-ratelimit-*` headers report it.
    struct WindowState: Sendable {
        let limit: Int
        let remaining: Int
        /// Whole seconds until the oldest request in the window leaves it (0: window empty).
        let resetSeconds: Int64
    }

    enum Decision: Sendable {
        case admitted
        case limited(retryAfterSeconds: Int64)
    }

    /// Send times inside the window, oldest first.
    private struct Window {
        private var times: [UInt64] = []
        private var start = 0

        var count: Int { times.count - start }
        var oldest: UInt64? { start < times.count ? times[start] : nil }

        mutating func expire(olderThan cutoff: UInt64) {
            while start < times.count, times[start] <= cutoff {
                start += 1
            }
            compact()
        }

        /// Records `count` sends at `time`, earlier than any recorded so far or not.
        mutating func insert(_ time: UInt64, count: Int) {
            var index = times.count
            while index > start, times[index - 1] > time { index -= 1 }
            times.insert(contentsOf: repeatElement(time, count: count), at: index)
        }

        /// Records a send; an unenforced window drops its oldest entry rather than grow past `limit`.
        mutating func record(_ time: UInt64, limit: Int) {
            if count >= limit {
                start += 1
            }
            times.append(time)
            compact()
        }

        private mutating func compact() {
            if start > 64, start * 2 > times.count {
                times.removeFirst(start)
                start = 0
            }
        }
    }

    private let windows = Mutex<[String: Window]>([:])
    private let scale: Double

    /// `scale` divides every period (60 turns a minute into a second).
    init(scale: Double) {
        self.scale = scale > 0 ? scale : 1
    }

    /// Counts one request under `key`, unless `enforce` is set and the window is full.
    func admit(key: String, policy: RateLimitPolicy, enforce: Bool) -> Decision {
        let now = Self.monotonicNanoseconds()
        let period = periodNanoseconds(policy)
        return windows.withLock { windows in
            windows[key, default: Window()].expire(olderThan: now &- min(now, period))
            if enforce, let window = windows[key], window.count >= policy.limit, let oldest = window.oldest {
                // Whole seconds, rounded up, never 0: a scaled sub-second wait still says 1.
                return .limited(retryAfterSeconds: max(1, Int64((oldest + period - now + 999_999_999) / 1_000_000_000)))
            }
            windows[key, default: Window()].record(now, limit: policy.limit)
            return .admitted
        }
    }

    /// Fills the window under `key` with another client's requests, so that after the next one
    /// only `remainingAfterNext` are left, until those requests leave it `leavingInSeconds` from
    /// now (at most one period).
    func share(key: String, policy: RateLimitPolicy, remainingAfterNext: Int, leavingInSeconds: Int) {
        let now = Self.monotonicNanoseconds()
        let period = periodNanoseconds(policy)
        let leaving = min(period, UInt64(leavingInSeconds) * 1_000_000_000)
        let windowStart = now &- min(now, period)
        windows.withLock { windows in
            windows[key, default: Window()].expire(olderThan: windowStart)
            let others = policy.limit - remainingAfterNext - 1 - windows[key]!.count
            if others > 0 { windows[key]!.insert(windowStart + leaving, count: others) }
        }
    }

    /// The window under `key` without counting a request.
    func peek(key: String, policy: RateLimitPolicy) -> WindowState {
        let now = Self.monotonicNanoseconds()
        let period = periodNanoseconds(policy)
        return windows.withLock { windows in
            guard windows[key] != nil else { return state(Window(), policy, now, period) }
            windows[key]?.expire(olderThan: now &- min(now, period))
            return state(windows[key] ?? Window(), policy, now, period)
        }
    }

    private func state(_ window: Window, _ policy: RateLimitPolicy, _ now: UInt64, _ period: UInt64) -> WindowState {
        let reset = window.oldest.map { Int64(($0 + period - now + 999_999_999) / 1_000_000_000) } ?? 0
        return WindowState(
            limit: policy.limit, remaining: max(0, policy.limit - window.count),
            resetSeconds: reset)
    }

    private func periodNanoseconds(_ policy: RateLimitPolicy) -> UInt64 {
        UInt64((Double(policy.periodSeconds) * 1e9 / scale).rounded(.up))
    }

    /// The monotonic clock, ten days ahead, so that a window can always reach a period back
    /// (a machine may have booted less than an hour ago).
    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec) + 864_000 * 1_000_000_000
    }
}

import BillSyncCore

/// When a source's next request may go out, from its own count and from what the server said.
///
/// The invariant it keeps: no interval of length `limit.period` holds more than `requests`
/// requests as the server can have counted them. The server counts a request when it arrives,
/// which is after it was sent and before it was answered, so the window counts each request
/// from its answer, the latest the server can have seen it (a request still in flight counts in
/// every window), and lets it go `period + margin` after that. `requests` is the configured
/// limit, or the server's `x-ratelimit-limit` when that is lower. Two statements of the server
/// tighten it further, never loosen it:
/// - after a 429 that asked for a wait, nothing goes out before that wait is over;
/// - after `x-ratelimit-remaining: R` with `x-ratelimit-reset: S` on an answer, at most R of the
///   requests sent after that one go out in the S seconds that follow (the newest statement wins).
///
/// And it waits no longer than these rules require: ``pace(at:)`` says the shortest wait after
/// which all of them hold, and ``RateWindowModelTests`` checks both sides against a plain model.
/// A window without a `limit` (pacing off, loopback only) keeps only the 429 rule.
///
/// Times are monotonic seconds, handed in by the caller; the struct itself is not thread-safe
/// (``Pacing`` holds it under a lock for the connections of a source).
public struct RateWindow: Sendable {
    /// A request that was let go and has not been answered yet.
    public struct Ticket: Sendable, Hashable {
        /// The request's place in the order requests were let go, from 0.
        public let grant: Int
    }

    /// Why a request has to wait.
    public enum WaitReason: String, Sendable {
        /// The window's own count (the configured or server-stated limit).
        case window = "pacing"
        /// `x-ratelimit-remaining` reached 0 before `x-ratelimit-reset`.
        case serverRemaining = "x-ratelimit-remaining"
        /// A 429 asked for a wait that is not over yet.
        case rateLimited = "HTTP 429"
    }

    public enum Pace: Sendable, Equatable {
        /// The request may go now.
        case go
        /// Ask again after this many seconds.
        case wait(Double, WaitReason)
        /// The window is full of requests still in flight: ask again once one is answered.
        case waitForAnswer
    }

    public let limit: RateLimit?
    /// Slack after each counted request, so that clock skew between us and the server cannot
    /// tip a request over.
    public let margin: Double
    /// Answer times, ascending, from `live` on (earlier slots have left the window).
    private var answered: [Double] = []
    private var live = 0
    private var inFlight: Set<Int> = []
    private var granted = 0
    private var pausedUntil = -Double.infinity
    /// The newest server statement: requests granted after `grant` may go `remaining` times until `until`.
    private var statement: (grant: Int, remaining: Int, until: Double)?
    private var serverLimit: Int?

    public init(limit: RateLimit?) {
        self.limit = limit
        margin = limit.map { min(1.0, $0.period * 0.02) } ?? 0
    }

    /// The requests the window lets into one period: the configured limit, or the server's when lower.
    public var requests: Int? {
        guard let limit else { return nil }
        return max(1, min(limit.requests, serverLimit ?? Int.max))
    }

    /// Whether a request may go at `now`, or how long it must wait: the longest of what the
    /// 429 rule, the server's remaining count and the window's own count require.
    public mutating func pace(at now: Double) -> Pace {
        var wait = 0.0
        var reason = WaitReason.window
        func need(_ seconds: Double, _ why: WaitReason) {
            if seconds > wait { (wait, reason) = (seconds, why) }
        }
        need(pausedUntil - now, .rateLimited)
        var full = false
        if let limit, let requests {
            if let s = statement, s.until > now, granted - s.grant - 1 >= s.remaining {
                need(s.until - now, .serverRemaining)
            }
            let period = limit.period + margin
            while live < answered.count, answered[live] + period <= now { live += 1 }
            compact()
            let counted = inFlight.count + answered.count - live
            if counted >= requests {
                if inFlight.count >= requests {
                    full = true
                } else {
                    // The (counted - requests + 1) oldest answers must leave the window first.
                    need(answered[live + counted - requests] + period - now, .window)
                }
            }
        }
        if wait > 0 { return .wait(wait, reason) }
        return full ? .waitForAnswer : .go
    }

    /// Lets a request go now; call only right after ``pace(at:)`` said `.go`.
    public mutating func grant() -> Ticket {
        let ticket = Ticket(grant: granted)
        granted += 1
        if limit != nil { inFlight.insert(ticket.grant) }
        return ticket
    }

    /// The request of `ticket` was answered (or failed) at `time`, with what the server said of
    /// its window, if anything.
    public mutating func answered(_ ticket: Ticket, at time: Double, server: ServerWindow? = nil) {
        guard limit != nil, inFlight.remove(ticket.grant) != nil else { return }
        var index = answered.count
        while index > live, answered[index - 1] > time { index -= 1 }
        answered.insert(time, at: index)
        if let server { observe(server, grant: ticket.grant, at: time) }
    }

    /// The request of `ticket` was answered 429 at `time`, asking for `wait` seconds: nothing
    /// goes out before that is over.
    public mutating func rateLimited(_ ticket: Ticket, at time: Double, wait: Double, server: ServerWindow? = nil) {
        answered(ticket, at: time, server: server)
        pausedUntil = max(pausedUntil, time + wait)
    }

    private mutating func observe(_ server: ServerWindow, grant: Int, at time: Double) {
        if let s = statement, s.grant > grant { return }
        statement = (grant, server.remaining, time + server.reset)
        if let stated = server.limit, stated > 0 { serverLimit = stated }
    }

    private mutating func compact() {
        if live > 256, live * 2 > answered.count {
            answered.removeFirst(live)
            live = 0
        }
    }
}

/// What a server said of its window on one response: `x-ratelimit-limit` (optional),
/// `x-ratelimit-remaining` and `x-ratelimit-reset` (seconds from now, or a unix time).
public struct ServerWindow: Sendable, Equatable {
    public var limit: Int?
    public var remaining: Int
    public var reset: Double

    public init(limit: Int?, remaining: Int, reset: Double) {
        self.limit = limit
        self.remaining = remaining
        self.reset = reset
    }

    /// The statement in `headers` (names lowercased), if it has both a remaining count and a reset.
    /// `unixNow` turns a reset written as a unix time into seconds from now.
    public init?(headers: [String: String], unixNow: Double) {
        guard let remainingText = headers["x-ratelimit-remaining"], let resetText = headers["x-ratelimit-reset"],
            let remaining = Int(remainingText.trimmed), remaining >= 0,
            let reset = Double(resetText.trimmed), reset >= 0, reset.isFinite
        else { return nil }
        self.remaining = remaining
        // Some servers send a unix time instead of a delta.
        self.reset = reset > 1_000_000_000 ? max(0, reset - unixNow) : reset
        limit = headers["x-ratelimit-limit"].flatMap { Int($0.trimmed) }
    }
}

extension String {
    var trimmed: Substring {
        let start = firstIndex { $0 != " " && $0 != "\t" } ?? endIndex
        let end = lastIndex { $0 != " " && $0 != "\t" }.map(index(after:)) ?? start
        return self[start..<max(start, end)]
    }
}

import BillSyncCore
import Foundation

/// Backoff for 5xx and connection failures: capped exponential with full jitter; and the
/// bounds on waiting out 429s, which do not use up the attempts.
public struct RetryPolicy: Sendable {
    /// Attempts at one request that end in a 5xx or a transport failure.
    public var maxAttempts: Int = 6
    public var baseDelay: Double = 1
    public var maxDelay: Double = 60
    /// The most the server may ask one request to wait, in all: 429 waits and waits for
    /// `x-ratelimit-reset`. A wait past it fails the source instead of sleeping.
    public var maxRateLimitWait: Double = 3600
    /// How long a 429 without `Retry-After` or `x-ratelimit-reset` waits: one documented period.
    public var unstatedRateLimitWait: Double = 60
    /// 429s in a row for one request after which it gives up, whatever they asked for.
    public var maxConsecutiveRateLimited = 20

    public init() {}

    public func backoff(attempt: Int) -> Double {
        let ceiling = min(maxDelay, baseDelay * pow(2, Double(attempt - 1)))
        return Double.random(in: 0...ceiling)
    }
}

/// What the paced client tells its owner, for the log.
public enum HTTPEvent: Sendable {
    case retry(attempt: Int, reason: String, delay: Double)
    case rateLimitWait(seconds: Double, reason: String)
    /// One attempt made: its URL, status (nil when no answer came), time, and the names of
    /// the headers sent (never their values: one of them is the key).
    case exchange(url: String, status: Int?, durationMs: Int, headerNames: [String])
}

public enum HTTPFailure: Error, Sendable, CustomStringConvertible {
    /// 5xx or transport failures persisted past the retry budget.
    case retriesExhausted(attempts: Int, lastReason: String)
    /// The server asked for one wait (`why`: which header) longer than the bound.
    case rateLimitWaitTooLong(asked: Double, why: String, bound: Double)
    /// The server's waits for one request added up past the bound.
    case rateLimitWaitsAddUp(waited: Double, bound: Double)
    /// The cap of 429s in a row for one request was reached.
    case rateLimitedTooOften(times: Int, lastWait: Double)
    case transport(TransportError)
    case stopped

    public var description: String {
        switch self {
        case .retriesExhausted(let n, let reason): "gave up after \(n) attempts: \(reason)"
        case .rateLimitWaitTooLong(let asked, let why, let bound):
            "rate limited: the server asked for a wait of \(Self.seconds(asked)) (\(why)), "
                + "longer than max_rate_limit_wait (\(Self.seconds(bound)))"
        case .rateLimitWaitsAddUp(let waited, let bound):
            "rate limited: the server's waits for one request add up to \(Self.seconds(waited)), "
                + "more than max_rate_limit_wait (\(Self.seconds(bound)))"
        case .rateLimitedTooOften(let times, let last):
            "rate limited \(times) times in a row for one request (the cap); the last 429 asked for \(Self.seconds(last))"
        case .transport(let e): e.description
        case .stopped: "stopped"
        }
    }

    /// `2 s`, `1.5 s`, `3600 s`: a wait as a person reads it (whole seconds from 10 s on).
    static func seconds(_ value: Double) -> String {
        if value >= 10 { return "\(Int(value.rounded())) s" }
        let millis = (value * 1000).rounded()
        if millis.truncatingRemainder(dividingBy: 1000) == 0 { return "\(Int(millis / 1000)) s" }
        return "\(millis / 1000) s"
    }
}

/// One connection of a source: the libcurl handle, the source's pacing and its retry rules.
///
/// `get` returns the first response that is neither 429 nor 5xx; other statuses are for
/// the caller to judge (a 4xx fails the source with the provider's message).
public final class PacedHTTP {
    public let client: HTTPClient
    public let pacing: Pacing
    public let retry: RetryPolicy
    public let stop: StopFlag
    public var onEvent: (HTTPEvent) -> Void = { _ in }

    public init(client: HTTPClient, rateLimit: RateLimit?, retry: RetryPolicy, stop: StopFlag) {
        self.client = client
        pacing = Pacing(rateLimit: rateLimit)
        self.retry = retry
        self.stop = stop
    }

    /// Another connection for the same source: its own handle, the same window and count.
    public init(client: HTTPClient, sharingWith other: PacedHTTP) {
        self.client = client
        pacing = other.pacing
        retry = other.retry
        stop = other.stop
        onEvent = other.onEvent
    }

    /// Every request made by this connection and those sharing its pacing.
    public var requestsMade: Int { pacing.requestsMade }

    /// The first answer that is neither 429 nor 5xx. 5xx and transport failures are retried
    /// with backoff up to `retry.maxAttempts`; a 429 is waited out as it asks (every connection
    /// of the source waits with it), up to the rate-limit bounds of ``RetryPolicy``.
    public func get(_ url: String, headers: [(String, String)]) throws(HTTPFailure) -> HTTPResponse {
        var failures = 0
        var limitedInARow = 0
        var serverWaits = 0.0
        let bound = retry.maxRateLimitWait
        while true {
            let ticket = try pacing.acquire(stop: stop) { seconds, reason throws(HTTPFailure) in
                // A 429's wait was logged and bounded when it came; the server's remaining count is bounded here.
                if reason == .serverRemaining {
                    if seconds > bound {
                        throw .rateLimitWaitTooLong(asked: seconds, why: "x-ratelimit-reset", bound: bound)
                    }
                    serverWaits += seconds
                    if serverWaits > bound { throw .rateLimitWaitsAddUp(waited: serverWaits, bound: bound) }
                }
                if reason != .rateLimited, seconds >= 1 {
                    onEvent(.rateLimitWait(seconds: seconds, reason: reason.rawValue))
                }
            }
            let reason: String
            let started = monotonicSeconds()
            var answered: Int?
            var limitedFor: Double?
            var server: ServerWindow?
            do {
                // Before any backoff: the window counts the request from its answer.
                defer {
                    let ended = monotonicSeconds()
                    if let limitedFor {
                        pacing.rateLimited(ticket, at: ended, wait: limitedFor, server: server)
                    } else {
                        pacing.answered(ticket, at: ended, server: server)
                    }
                    onEvent(
                        .exchange(
                            url: url, status: answered, durationMs: Int((ended - started) * 1000),
                            headerNames: headers.map(\.0)))
                }
                let response = try client.get(url, headers: headers)
                answered = response.status
                server = ServerWindow(headers: response.headers, unixNow: Date().timeIntervalSince1970)
                if response.status == 429 {
                    limitedInARow += 1
                    let stated = Self.rateLimitDelay(response.headers)
                    let wait = stated?.seconds ?? retry.unstatedRateLimitWait
                    if wait > bound {
                        throw HTTPFailure.rateLimitWaitTooLong(
                            asked: wait, why: stated?.header ?? "no wait stated", bound: bound)
                    }
                    serverWaits += wait
                    if serverWaits > bound { throw HTTPFailure.rateLimitWaitsAddUp(waited: serverWaits, bound: bound) }
                    if limitedInARow >= retry.maxConsecutiveRateLimited {
                        throw HTTPFailure.rateLimitedTooOften(times: limitedInARow, lastWait: wait)
                    }
                    limitedFor = wait
                    onEvent(.rateLimitWait(seconds: wait, reason: "HTTP 429"))
                    continue
                }
                limitedInARow = 0
                guard response.status >= 500 else { return response }
                reason = "HTTP \(response.status)"
            } catch let error as HTTPFailure {
                throw error
            } catch let error as TransportError {
                if error.kind == .aborted { throw HTTPFailure.stopped }
                if error.kind == .bodyTooLarge { throw HTTPFailure.transport(error) }
                reason = error.message
            } catch {
                reason = "\(error)"
            }
            failures += 1
            if failures >= retry.maxAttempts { throw .retriesExhausted(attempts: failures, lastReason: reason) }
            let delay = retry.backoff(attempt: failures)
            onEvent(.retry(attempt: failures, reason: reason, delay: delay))
            try Pacing.pause(delay, stop: stop)
        }
    }

    /// Seconds a 429 asks to wait, and the header that says so: `Retry-After` (seconds or an
    /// HTTP date), else `x-ratelimit-reset` (seconds, or a unix time).
    public static func rateLimitDelay(_ headers: [String: String], now: Date = Date()) -> (
        seconds: Double, header: String
    )? {
        if let value = headers["retry-after"] {
            if let seconds = Double(value.trimmed), seconds >= 0, seconds.isFinite { return (seconds, "Retry-After") }
            if let date = parseHTTPDate(value) { return (max(0, date.timeIntervalSince(now)), "Retry-After") }
        }
        if let reset = headers["x-ratelimit-reset"], let seconds = Double(reset.trimmed), seconds >= 0, seconds.isFinite
        {
            // Some servers send a unix time instead of a delta.
            if seconds > 1_000_000_000 { return (max(0, seconds - now.timeIntervalSince1970), "x-ratelimit-reset") }
            return (seconds, "x-ratelimit-reset")
        }
        return nil
    }

    static func parseHTTPDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let d = formatter.date(from: text) { return d }
        }
        return nil
    }
}

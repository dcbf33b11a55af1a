import BillSyncCore
import Foundation

/// Backoff for 5xx and connection failures: capped exponential with full jitter.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int = 6
    public var baseDelay: Double = 1
    public var maxDelay: Double = 60
    /// A 429 asking for a longer wait than this fails the source instead of sleeping.
    public var maxRateLimitWait: Double = 3600

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
    /// 5xx, 429 or transport failures persisted past the retry budget.
    case retriesExhausted(attempts: Int, lastReason: String)
    case rateLimitWaitTooLong(seconds: Double)
    case transport(TransportError)
    case stopped

    public var description: String {
        switch self {
        case .retriesExhausted(let n, let reason): "gave up after \(n) attempts: \(reason)"
        case .rateLimitWaitTooLong(let s): "rate limited for \(Int(s)) s, longer than the configured maximum wait"
        case .transport(let e): e.description
        case .stopped: "stopped"
        }
    }
}

/// A source's pacing window and request count, shared by every connection the source uses.
public final class Pacing: @unchecked Sendable {
    private let lock = NSLock()
    private var window: RateWindow?
    private var requests = 0

    public init(rateLimit: RateLimit?) {
        window = rateLimit.map(RateWindow.init)
    }

    /// Takes the next slot the window allows and says how long to wait for it; the slot is
    /// held from now on, so that connections sharing the window never overfill it together.
    /// Hand the slot back to ``settle(_:at:)`` when the answer is in.
    func reserve(at now: Double) -> (wait: Double, slot: Int?) {
        lock.withLock {
            guard window != nil else { return (0, nil) }
            let wait = window!.delay(at: now)
            return (wait, window!.record(at: now + wait))
        }
    }

    /// The request in `slot` was answered (or failed) at `time`: see ``RateWindow/settle(_:at:)``.
    func settle(_ slot: Int?, at time: Double) {
        guard let slot else { return }
        lock.withLock { window?.settle(slot, at: time) }
    }

    func block(until: Double) {
        lock.withLock { window?.block(until: until) }
    }

    func countRequest() {
        lock.withLock { requests += 1 }
    }

    public var requestsMade: Int { lock.withLock { requests } }
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

    /// Sleeps in short slices so that a stop request is honoured promptly.
    func pause(_ seconds: Double) throws(HTTPFailure) {
        let end = monotonicSeconds() + seconds
        while true {
            if stop.isSet { throw .stopped }
            let left = end - monotonicSeconds()
            if left <= 0 { return }
            usleep(useconds_t(min(left, 0.1) * 1_000_000))
        }
    }

    public func get(_ url: String, headers: [(String, String)]) throws(HTTPFailure) -> HTTPResponse {
        var attempt = 0
        while true {
            attempt += 1
            if stop.isSet { throw .stopped }
            let (wait, slot) = pacing.reserve(at: monotonicSeconds())
            if wait > 0 {
                if wait >= 1 { onEvent(.rateLimitWait(seconds: wait, reason: "pacing")) }
                try pause(wait)
            }
            pacing.countRequest()
            let reason: String
            let started = monotonicSeconds()
            var answered: Int?
            defer {
                let ended = monotonicSeconds()
                pacing.settle(slot, at: ended)
                onEvent(.exchange(url: url, status: answered, durationMs: Int((ended - started) * 1000),
                                  headerNames: headers.map(\.0)))
            }
            do {
                let response = try client.get(url, headers: headers)
                answered = response.status
                if response.status == 429 {
                    let wait = Self.rateLimitDelay(response.headers) ?? 60
                    if wait > retry.maxRateLimitWait { throw HTTPFailure.rateLimitWaitTooLong(seconds: wait) }
                    if attempt >= retry.maxAttempts {
                        throw HTTPFailure.retriesExhausted(attempts: attempt, lastReason: "HTTP 429")
                    }
                    onEvent(.rateLimitWait(seconds: wait, reason: "HTTP 429"))
                    pacing.block(until: monotonicSeconds() + wait)
                    try pause(wait)
                    continue
                }
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
            if attempt >= retry.maxAttempts { throw .retriesExhausted(attempts: attempt, lastReason: reason) }
            let delay = retry.backoff(attempt: attempt)
            onEvent(.retry(attempt: attempt, reason: reason, delay: delay))
            try pause(delay)
        }
    }

    /// Seconds to wait from `Retry-After` (seconds or HTTP date) or `x-ratelimit-reset`.
    public static func rateLimitDelay(_ headers: [String: String], now: Date = Date()) -> Double? {
        if let value = headers["retry-after"] {
            if let seconds = Double(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 { return seconds }
            if let date = parseHTTPDate(value) { return max(0, date.timeIntervalSince(now)) }
        }
        if let reset = headers["x-ratelimit-reset"], let seconds = Double(reset), seconds >= 0 {
            // Some servers send an epoch instead of a delta.
            if seconds > 1_000_000_000 { return max(0, seconds - now.timeIntervalSince1970) }
            return seconds
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

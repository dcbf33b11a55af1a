import BillSyncConfig
import BillSyncCore
import BillSyncHTTP
import BillSyncProviders
import BillSyncStore
import Foundation
import Logging

/// What one source's sync did, for the log, `status` and the exit code.
public struct SyncReport: Sendable {
    public var source: String
    public var invoicesNew = 0
    public var invoicesChanged = 0
    public var detailRequests = 0
    public var usageHours = 0
    public var requests = 0
    public var durationMs = 0
    /// Responses by status class (`2xx`, `4xx`, `429`, `5xx`; `error` when none arrived).
    public var responses: [String: Int] = [:]
    public var retries = 0
    public var rateLimitWaitSeconds = 0.0
    /// Nil on success; the message that was logged and stored otherwise.
    public var error: String?

    public var succeeded: Bool { error == nil }
}

/// One incremental pass over one source: sets up its connections, then runs the
/// ``InvoiceWalk`` (with a ``DetailFetcher``) and the ``UsageBackfill``, and logs the outcome.
public final class SourceSync {
    let source: SourceConfig
    let config: Config
    let context: SyncContext
    let tally = HTTPTally()

    public init(
        source: SourceConfig, config: Config, store: BillingStore, logger: Logger, stop: StopFlag, clock: SyncClock
    ) {
        self.source = source
        self.config = config
        var logger = logger
        logger[metadataKey: "source"] = .string(source.name)
        context = SyncContext(
            source: source.name, provider: source.provider.rawValue, store: store, logger: logger, stop: stop,
            clock: clock)
    }

    var providerName: String { source.provider.rawValue }
    var logger: Logger { context.logger }

    /// At most this many sources sync at the same moment in one process: more only adds
    /// memory (a connection, buffers and a parsed page each) on a machine with few cores.
    public static let concurrentSources = max(4, 2 * ProcessInfo.processInfo.activeProcessorCount)
    static let slots = DispatchSemaphore(value: concurrentSources)

    public func run() -> SyncReport {
        Self.slots.wait()
        defer { Self.slots.signal() }
        let started = monotonicSeconds()
        let (store, clock, stop) = (context.store, context.clock, context.stop)
        logger.info("sync.started", metadata: ["provider": .string(providerName)])
        var failure: String?
        var stopped = false
        var http: PacedHTTP?
        do {
            try store.recordAttempt(source: source.name, provider: providerName, at: clock.now())
            let key = try KeyReader.read(source.key, source: source.name, file: config.path)
            SecretRegistry.shared.add(key)
            let paced = connection(stop: stop)
            http = paced
            let settings = ProviderSettings(
                kind: source.provider, baseURL: source.baseURL, apiKey: key, team: source.team,
                amountsInCents: source.moneyUnit == .cents, currency: source.currency)
            let provider = source.descriptor.make(settings, paced)
            let details = DetailFetcher(context: context, first: provider) { [source] in
                let lane = PacedHTTP(client: HTTPClient(options: paced.client.options, stop: stop), sharingWith: paced)
                return source.descriptor.make(settings, lane)
            }
            try InvoiceWalk(context: context, provider: provider, details: details).run()
            if provider.hasUsage {
                try UsageBackfill(
                    context: context, provider: provider, usageStart: source.usageStart,
                    lookback: source.usageLookback
                ).run()
                // Both the invoices and the usage are in: the months used but not invoiced.
                try store.noteUnbilledMonths(source: source.name, at: clock.now())
            }
        } catch ProviderError.stopped {
            stopped = true
        } catch let error as ProviderError {
            failure = error.description
        } catch {
            failure = "\(error)"
        }
        var report = context.report
        (report.responses, report.retries, report.rateLimitWaitSeconds) = tally.totals
        report.requests = http?.requestsMade ?? 0
        report.durationMs = Int((monotonicSeconds() - started) * 1000)
        report.error = failure ?? (stopped ? "stopped before finishing; the next sync resumes here" : nil)
        do {
            try store.recordResult(
                source: source.name, provider: providerName, at: clock.now(), error: failure,
                requests: report.requests, completed: !stopped)
        } catch {
            logger.error("store.failed", metadata: ["error": .string("\(error)")])
        }
        var outcome: Logger.Metadata = [
            "invoices_new": "\(report.invoicesNew)", "invoices_changed": "\(report.invoicesChanged)",
            "usage_hours": "\(report.usageHours)", "requests": "\(report.requests)",
            "detail_requests": "\(report.detailRequests)", "duration_ms": "\(report.durationMs)",
        ]
        if stopped {
            logger.info("sync.stopped", metadata: outcome)
        } else if let failure {
            outcome["error"] = .string(failure)
            logger.error("sync.failed", metadata: outcome)
        } else {
            logger.info("sync.finished", metadata: outcome)
        }
        return report
    }

    /// The source's first connection, paced by its rate limit, its events logged.
    func connection(stop: StopFlag) -> PacedHTTP {
        var options = HTTPClientOptions()
        options.connectTimeoutMs = Int(config.connectTimeout * 1000)
        options.totalTimeoutMs = Int(config.requestTimeout * 1000)
        options.maxBodyBytes = config.maxResponseBytes
        var retry = RetryPolicy()
        retry.maxAttempts = config.retryMaxAttempts
        retry.baseDelay = config.retryBaseDelay
        retry.maxDelay = config.retryMaxDelay
        retry.maxRateLimitWait = config.maxRateLimitWait ?? source.documentedRatePeriod
        retry.unstatedRateLimitWait = source.documentedRatePeriod
        let http = PacedHTTP(
            client: HTTPClient(options: options, stop: stop), rateLimit: source.rateLimit, retry: retry, stop: stop)
        http.onEvent = { [logger, tally] event in
            tally.count(event)
            switch event {
            case .retry(let attempt, let reason, let delay):
                logger.warning(
                    "request.retry",
                    metadata: [
                        "attempt": "\(attempt)", "reason": .string(reason), "delay_ms": "\(Int(delay * 1000))",
                    ])
            case .rateLimitWait(let seconds, let reason):
                logger.info(
                    "ratelimit.wait", metadata: ["wait_ms": "\(Int(seconds * 1000))", "reason": .string(reason)])
            case .exchange(let url, let status, let ms, let names):
                logger.debug(
                    "http.request",
                    metadata: [
                        "method": "GET", "url": .string(url), "status": .string(status.map(String.init) ?? "none"),
                        "duration_ms": "\(ms)",
                        "headers": .string(names.map { "\($0): [redacted]" }.joined(separator: "; ")),
                    ])
            }
        }
        return http
    }
}

/// The responses, retries and rate-limit waits of a source's connections (several threads).
final class HTTPTally: @unchecked Sendable {
    private let lock = NSLock()
    private var responses: [String: Int] = [:]
    private var retries = 0
    private var waited = 0.0

    func count(_ event: HTTPEvent) {
        lock.withLock {
            switch event {
            case .exchange(_, let status, _, _):
                let key = status.map { $0 == 429 ? "429" : "\($0 / 100)xx" } ?? "error"
                responses[key, default: 0] += 1
            case .retry: retries += 1
            case .rateLimitWait(let seconds, _): waited += seconds
            }
        }
    }

    var totals: ([String: Int], Int, Double) { lock.withLock { (responses, retries, waited) } }
}

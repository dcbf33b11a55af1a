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
    /// Nil on success; the message that was logged and stored otherwise.
    public var error: String?

    public var succeeded: Bool { error == nil }
}

/// One incremental pass over one source: the invoice walk, the re-read of open
/// invoices, then the usage windows. Every page commits with the position after it.
public final class SourceSync {
    let source: SourceConfig
    let config: Config
    let store: BillingStore
    let logger: Logger
    let stop: StopFlag
    let clock: SyncClock
    var report: SyncReport
    var provider: BillingProvider!
    var settings: ProviderSettings!
    var http: PacedHTTP!

    public init(source: SourceConfig, config: Config, store: BillingStore, logger: Logger, stop: StopFlag, clock: SyncClock) {
        self.source = source
        self.config = config
        self.store = store
        var logger = logger
        logger[metadataKey: "source"] = .string(source.name)
        self.logger = logger
        self.stop = stop
        self.clock = clock
        report = SyncReport(source: source.name)
    }

    var providerName: String { source.provider.rawValue }

    /// At most this many sources sync at the same moment in one process: more only adds
    /// memory (a connection, buffers and a parsed page each) on a machine with few cores.
    public static let concurrentSources = max(4, 2 * ProcessInfo.processInfo.activeProcessorCount)
    static let slots = DispatchSemaphore(value: concurrentSources)

    public func run() -> SyncReport {
        Self.slots.wait()
        defer { Self.slots.signal() }
        let started = monotonicSeconds()
        logger.info("sync.started", metadata: ["provider": .string(providerName)])
        var failure: String?
        var stopped = false
        do {
            try store.recordAttempt(source: source.name, provider: providerName, at: clock.now())
            let key = try KeyReader.read(source.key, source: source.name, file: config.path)
            SecretRegistry.shared.add(key)
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
            http = PacedHTTP(client: HTTPClient(options: options, stop: stop), rateLimit: source.rateLimit, retry: retry, stop: stop)
            http.onEvent = { [logger] event in
                switch event {
                case .retry(let attempt, let reason, let delay):
                    logger.warning("request.retry", metadata: ["attempt": "\(attempt)", "reason": .string(reason), "delay_ms": "\(Int(delay * 1000))"])
                case .rateLimitWait(let seconds, let reason):
                    logger.info("ratelimit.wait", metadata: ["wait_ms": "\(Int(seconds * 1000))", "reason": .string(reason)])
                case .exchange(let url, let status, let ms, let names):
                    logger.debug("http.request", metadata: [
                        "method": "GET", "url": .string(url), "status": .string(status.map(String.init) ?? "none"),
                        "duration_ms": "\(ms)", "headers": .string(names.map { "\($0): [redacted]" }.joined(separator: "; ")),
                    ])
                }
            }
            settings = ProviderSettings(
                kind: source.provider, baseURL: source.baseURL, apiKey: key, team: source.team,
                amountsInCents: source.moneyUnit == .cents, currency: source.currency)
            provider = source.descriptor.make(settings, http)
            try syncInvoices()
            if provider.hasUsage { try syncUsage() }
        } catch ProviderError.stopped {
            stopped = true
        } catch let error as ProviderError {
            failure = error.description
        } catch {
            failure = "\(error)"
        }
        report.requests = http?.requestsMade ?? 0
        report.durationMs = Int((monotonicSeconds() - started) * 1000)
        report.error = failure ?? (stopped ? "stopped before finishing; the next sync resumes here" : nil)
        do {
            try store.recordResult(source: source.name, provider: providerName, at: clock.now(), error: failure,
                                   requests: report.requests, completed: !stopped)
        } catch {
            logger.error("store.failed", metadata: ["error": .string("\(error)")])
        }
        if stopped {
            logger.info("sync.stopped", metadata: [
                "invoices_new": "\(report.invoicesNew)", "invoices_changed": "\(report.invoicesChanged)",
                "usage_hours": "\(report.usageHours)", "requests": "\(report.requests)", "detail_requests": "\(report.detailRequests)",
                "duration_ms": "\(report.durationMs)",
            ])
        } else if let failure {
            logger.error("sync.failed", metadata: [
                "error": .string(failure), "invoices_new": "\(report.invoicesNew)", "invoices_changed": "\(report.invoicesChanged)",
                "usage_hours": "\(report.usageHours)", "requests": "\(report.requests)", "detail_requests": "\(report.detailRequests)",
                "duration_ms": "\(report.durationMs)",
            ])
        } else {
            logger.info("sync.finished", metadata: [
                "invoices_new": "\(report.invoicesNew)", "invoices_changed": "\(report.invoicesChanged)",
                "usage_hours": "\(report.usageHours)", "requests": "\(report.requests)", "detail_requests": "\(report.detailRequests)",
                "duration_ms": "\(report.durationMs)",
            ])
        }
        return report
    }

    // MARK: - Invoices

    func syncInvoices() throws {
        let state = try store.state(source: source.name, provider: providerName)
        var seen = Set<String>()
        if state.walkActive {
            logger.info("invoices.resume", metadata: ["cursor": .string(state.walkCursor ?? "")])
            try walk(from: state.walkCursor, full: state.walkFull, seen: &seen)
            // The head may have moved while the walk was interrupted.
            try walk(from: nil, full: false, seen: &seen)
        } else {
            try walk(from: nil, full: state.walkFull, seen: &seen)
        }
        if provider.needsInvoiceDetail {
            for id in try store.nonFinalInvoiceIDs(source: source.name) where !seen.contains(id) {
                try checkStop()
                let invoice = try detail(id)
                try commit([invoice], position: nil)
            }
        }
    }

    func checkStop() throws(ProviderError) {
        if stop.isSet { throw .stopped }
    }

    /// Walks the list newest first from `start`, committing each page with the cursor that
    /// follows it. Stops at the end of the list or, unless `full`, at the first page whose
    /// oldest invoice is already stored unchanged, once every stored open invoice has been re-read.
    func walk(from start: String?, full: Bool, seen: inout Set<String>) throws {
        var cursor = start
        var cursors = Set<String>()
        if let start { cursors.insert(start) }
        var unreadOpen = Set(try store.nonFinalInvoiceIDs(source: source.name)).subtracting(seen)
        while true {
            try checkStop()
            let page = try provider.invoicePage(cursor: cursor)
            if let next = page.next, !cursors.insert(next).inserted {
                throw ProviderError.repeatingCursor(endpoint: provider.invoiceEndpoint, cursor: next)
            }
            let known = try store.knownInvoices(source: source.name, ids: page.invoices.map(\.id))
            var invoices: [Invoice] = []
            var needDetail: [String] = []
            var oldestIsKnown = false
            for invoice in page.invoices {
                seen.insert(invoice.id)
                unreadOpen.remove(invoice.id)
                let old = known[invoice.id]
                let changed = old.map { $0.state != invoice.state } ?? true
                oldestIsKnown = !changed
                if provider.needsInvoiceDetail && (changed || old?.hasLines == false) {
                    needDetail.append(invoice.id)
                } else {
                    invoices.append(invoice)
                }
            }
            let fetched = try fetchDetails(needDetail)
            let reachedEnd = page.next == nil
            // Newest first: once the oldest invoice of a page is one we hold unchanged, every
            // later page holds only invoices we have already read.
            let stopEarly = !full && oldestIsKnown && (provider.needsInvoiceDetail || unreadOpen.isEmpty)
            let done = reachedEnd || stopEarly
            try commit(fetched + invoices, position: done ? .finished(reachedEnd: reachedEnd) : .next(cursor: page.next!))
            if done { return }
            cursor = page.next
        }
    }

    func detail(_ id: String) throws -> Invoice {
        report.detailRequests += 1
        return try provider.invoiceDetail(id: id)
    }

    /// Connections fetching invoice details side by side. They share the source's pacing, so
    /// under a rate limit they go no faster than one would; without one, a backfill's
    /// thousands of details are not one long chain of round trips.
    static let detailLanes = 3
    var lanes: [BillingProvider] = []

    /// The details of `ids`, in order, fetched over ``detailLanes`` connections. What was
    /// fetched is committed every five invoices or every second, whichever comes first (under
    /// the Typesense limit, each detail as it comes), so a restart asks for few again; the rest
    /// is returned for the caller to commit with its page. A failure commits what came before
    /// it, then throws.
    func fetchDetails(_ ids: [String]) throws -> [Invoice] {
        guard !ids.isEmpty else { return [] }
        if lanes.isEmpty {
            lanes = [provider]
            for _ in 1..<Self.detailLanes {
                let connection = PacedHTTP(client: HTTPClient(options: http.client.options, stop: stop), sharingWith: http)
                lanes.append(source.descriptor.make(settings, connection))
            }
        }
        var fetched: [Invoice] = []
        var lastCommit = monotonicSeconds()
        var next = 0
        // A batch commits on the store's commit queue while the next details are fetched; at
        // most one waits, and every way out of here waits for it, so the page's own commit
        // (with the cursor) always comes after its details'.
        var pending: PendingCommit<PageOutcome>?
        func settle() throws {
            guard let p = pending else { return }
            pending = nil
            count(try p.wait())
        }
        defer { try? settle() }
        while next < ids.count {
            try checkStop()
            let batch = Array(ids[next..<min(next + lanes.count, ids.count)])
            let results = Self.fetchSideBySide(batch, lanes: lanes)
            report.detailRequests += batch.count
            for result in results {
                switch result {
                case .success(let invoice):
                    fetched.append(invoice)
                case .failure(let error):
                    try settle()
                    if !fetched.isEmpty { try commit(fetched, position: nil) }
                    throw error
                }
            }
            next += batch.count
            if fetched.count >= 5 || monotonicSeconds() - lastCommit >= 1 {
                try settle()
                pending = commitLater(fetched)
                fetched = []
                lastCommit = monotonicSeconds()
            }
        }
        try settle()
        return fetched
    }

    /// `ids[i]` through `lanes[i]`, all at once; results in the order of `ids`.
    static func fetchSideBySide(_ ids: [String], lanes: [BillingProvider]) -> [Result<Invoice, ProviderError>] {
        let results = DetailResults(count: ids.count)
        let group = DispatchGroup()
        for i in 1..<ids.count {
            let lane = UncheckedLane(provider: lanes[i])
            let id = ids[i]
            DispatchQueue.global().async(group: group) {
                results.set(i, Result { () throws(ProviderError) -> Invoice in try lane.provider.invoiceDetail(id: id) })
            }
        }
        results.set(0, Result { () throws(ProviderError) -> Invoice in try lanes[0].invoiceDetail(id: ids[0]) })
        group.wait()
        return results.all
    }

    func commit(_ invoices: [Invoice], position: WalkPosition?) throws {
        let now = clock.now()
        count(try store.commitInvoicePage(source: source.name, provider: providerName, invoices: reconciled(invoices),
                                          position: position, seenAt: now, syncDay: UTC.startOfDay(now)))
    }

    /// ``commit(_:position:)`` for details without a position, on the store's commit queue;
    /// hand the result to ``count(_:)`` once it is in.
    func commitLater(_ invoices: [Invoice]) -> PendingCommit<PageOutcome> {
        let now = clock.now()
        return store.commitInvoicePageLater(source: source.name, provider: providerName, invoices: reconciled(invoices),
                                            position: nil, seenAt: now, syncDay: UTC.startOfDay(now))
    }

    func count(_ outcome: PageOutcome) {
        report.invoicesNew += outcome.new
        report.invoicesChanged += outcome.changed
        for (id, fields) in outcome.incomplete {
            logger.warning("invoice.incomplete", metadata: [
                "invoice": .string(id), "fields": .string(fields.joined(separator: ",")),
                "reason": "the provider left these fields out; billsync filled them as its README's field table says",
            ])
        }
        for (from, to) in outcome.identified {
            logger.info("invoice.identified", metadata: ["invoice": .string(to), "was": .string(from)])
        }
    }

    /// The invoices with line items that sum to their totals (an adjustment line where they do
    /// not, logged).
    func reconciled(_ invoices: [Invoice]) -> [Invoice] {
        var reconciled = invoices
        for i in reconciled.indices {
            guard let lines = reconciled[i].lineItems else { continue }
            let result = Normalization.reconcile(lines, total: reconciled[i].total)
            reconciled[i].lineItems = result.lines
            if let difference = result.difference {
                logger.warning("invoice.adjusted", metadata: [
                    "invoice": .string(reconciled[i].id), "difference": .string(difference.description),
                    "total": .string(reconciled[i].total.description),
                    "reason": "line items do not sum to the invoice total; an adjustment line records the difference",
                ])
            }
        }
        return reconciled
    }

    // MARK: - Usage

    /// The first hour a source backfills when `usage_start` is not set: the start of the
    /// previous UTC month at its first sync.
    static func defaultUsageStart(now: Int64) -> Int64 {
        var c = UTC.civil(now)
        c.day = 1; c.hour = 0; c.minute = 0; c.second = 0
        c.month -= 1
        if c.month == 0 { c.month = 12; c.year -= 1 }
        return UTC.unix(c)
    }

    func syncUsage() throws {
        var state = try store.state(source: source.name, provider: providerName)
        let now = clock.now()
        let lastWholeHourEnd = UTC.startOfHour(now)
        let usageStart = source.usageStart ?? state.usageStart ?? Self.defaultUsageStart(now: now)
        if state.usageStart != usageStart {
            try store.setUsageStart(source: source.name, provider: providerName, start: usageStart)
            if let old = state.usageStart, usageStart < old {
                // usage_start moved back: read the new hours too.
                try store.reset(source: source.name, provider: providerName, usageFrom: usageStart)
                state = try store.state(source: source.name, provider: providerName)
            }
        }
        if let window = state.usageWindow {
            logger.info("usage.resume", metadata: ["window_start": .string(UTC.iso8601(window.start)), "window_end": .string(UTC.iso8601(window.end))])
            try readWindow(window)
            state = try store.state(source: source.name, provider: providerName)
        }
        let doneUntil = state.usageDoneUntil ?? usageStart
        var from = max(usageStart, min(doneUntil, lastWholeHourEnd - source.usageLookback))
        let step = provider.usageWindowHours * 3600
        while from < lastWholeHourEnd {
            let end = min(from + step, lastWholeHourEnd)
            try readWindow(UsageWindow(start: from, end: end, cursor: nil))
            from = end
        }
    }

    /// Reads a window's pages in order. Each page commits with the position after it in one
    /// transaction, on the store's commit queue while the next page is fetched; at most one
    /// page waits for its commit, and every way out of here waits for it.
    func readWindow(_ window: UsageWindow) throws {
        var cursor = window.cursor
        var cursors = Set<String>()
        if let c = cursor { cursors.insert(c) }
        var pending: (commit: PendingCommit<Void>, hours: Int)?
        func settle() throws {
            guard let p = pending else { return }
            pending = nil
            try p.commit.wait()
            report.usageHours += p.hours
        }
        defer { try? settle() }   // leaving on an error: the page before it still commits
        while true {
            try checkStop()
            let page = try provider.usagePage(start: window.start, end: window.end, cursor: cursor)
            if let next = page.next, !cursors.insert(next).inserted {
                throw ProviderError.repeatingCursor(endpoint: provider.usageEndpoint, cursor: next)
            }
            let position: UsagePosition = page.next.map { .inWindow(UsageWindow(start: window.start, end: window.end, cursor: $0)) }
                ?? .windowDone(doneUntil: window.end)
            try settle()
            pending = (store.commitUsagePageLater(source: source.name, provider: providerName, hours: page.hours, position: position),
                       page.hours.count)
            guard let next = page.next else { break }
            cursor = next
        }
        try settle()
    }
}

/// A provider handed to one worker for one request; each lane is used by one thread at a time.
private struct UncheckedLane: @unchecked Sendable {
    let provider: BillingProvider
}

/// Where the side-by-side detail requests leave their results.
private final class DetailResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<Invoice, ProviderError>?]

    init(count: Int) { results = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ result: Result<Invoice, ProviderError>) {
        lock.withLock { results[i] = result }
    }

    var all: [Result<Invoice, ProviderError>] { lock.withLock { results.map { $0! } } }
}

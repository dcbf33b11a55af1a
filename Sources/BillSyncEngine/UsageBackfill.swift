import BillSyncCore
import BillSyncProviders
import BillSyncStore
import Foundation

/// A source's hourly usage, read in windows forward from where the last sync got to, every
/// page committed with the position after it.
public final class UsageBackfill {
    let context: SyncContext
    let provider: BillingProvider
    /// The configured `usage_start`; nil keeps the stored one (or the default at a first sync).
    let configuredStart: Int64?
    /// How far behind the last synced hour each sync reads again.
    let lookback: Int64

    public init(context: SyncContext, provider: BillingProvider, usageStart: Int64?, lookback: Int64) {
        self.context = context
        self.provider = provider
        self.configuredStart = usageStart
        self.lookback = lookback
    }

    var store: BillingStore { context.store }

    /// The first hour a source backfills when `usage_start` is not set: the start of the
    /// previous UTC month at its first sync.
    static func defaultUsageStart(now: Int64) -> Int64 {
        var c = UTC.civil(now)
        c.day = 1
        c.hour = 0
        c.minute = 0
        c.second = 0
        c.month -= 1
        if c.month == 0 {
            c.month = 12
            c.year -= 1
        }
        return UTC.unix(c)
    }

    /// Every whole hour up to now: an interrupted window first, then the window (or windows,
    /// where the provider bounds them) after the stored position, less the lookback.
    public func run() throws {
        let (source, providerName) = (context.source, context.provider)
        var state = try store.state(source: source, provider: providerName)
        let now = context.clock.now()
        let lastWholeHourEnd = UTC.startOfHour(now)
        let usageStart = configuredStart ?? state.usageStart ?? Self.defaultUsageStart(now: now)
        if state.usageStart != usageStart {
            try store.setUsageStart(source: source, provider: providerName, start: usageStart)
            if let old = state.usageStart, usageStart < old {
                // usage_start moved back: read the new hours too.
                try store.reset(source: source, provider: providerName, usageFrom: usageStart)
                state = try store.state(source: source, provider: providerName)
            }
        }
        if let window = state.usageWindow {
            context.logger.info(
                "usage.resume",
                metadata: [
                    "window_start": .string(UTC.iso8601(window.start)), "window_end": .string(UTC.iso8601(window.end)),
                ])
            try read(window)
            state = try store.state(source: source, provider: providerName)
        }
        let doneUntil = state.usageDoneUntil ?? usageStart
        var from = max(usageStart, min(doneUntil, lastWholeHourEnd - lookback))
        // One window to the last whole hour, unless the provider bounds its windows. A window
        // is read by cursor and its position is committed with every page, so a long one
        // resumes where it stopped just as a short one does.
        let step = provider.usageWindowHours.map { $0 * 3600 } ?? .max
        while from < lastWholeHourEnd {
            let end = from > lastWholeHourEnd - step ? lastWholeHourEnd : from + step
            try read(UsageWindow(start: from, end: end, cursor: nil))
            from = end
        }
    }

    /// At most this many of a source's pages wait for their commit while the next is fetched.
    /// Two rather than one: when the commit thread is what a backfill waits on, the pages
    /// queued behind it share its transactions (see `DatabasePool.writeLater`), and fewer,
    /// larger commits write fewer log pages.
    static let pagesInFlight = 2

    /// Reads a window's pages in order. Each page commits with the position after it in one
    /// transaction, on the store's commit queue while the next page is fetched; at most
    /// ``pagesInFlight`` pages wait for their commit, and every way out of here waits for them.
    func read(_ window: UsageWindow) throws {
        var cursor = window.cursor
        var cursors = Set<String>()
        if let c = cursor { cursors.insert(c) }
        var pending: [(commit: PendingCommit<Void>, hours: Int)] = []  // oldest first
        func settle(keeping: Int = 0) throws {
            while pending.count > keeping {
                let p = pending.removeFirst()
                try p.commit.wait()
                context.report.usageHours += p.hours
            }
        }
        defer { try? settle() }  // leaving on an error: the page before it still commits
        while true {
            try context.checkStop()
            let page = try provider.usagePage(start: window.start, end: window.end, cursor: cursor)
            if let next = page.next, !cursors.insert(next).inserted {
                throw ProviderError.repeatingCursor(endpoint: provider.usageEndpoint, cursor: next)
            }
            let position: UsagePosition =
                page.next.map { .inWindow(UsageWindow(start: window.start, end: window.end, cursor: $0)) }
                ?? .windowDone(doneUntil: window.end)
            try settle(keeping: Self.pagesInFlight - 1)
            pending.append(
                (
                    store.commitUsagePageLater(
                        source: context.source, provider: context.provider, hours: page.hours, position: position),
                    page.hours.count
                ))
            guard let next = page.next else { break }
            cursor = next
        }
        try settle()
    }
}

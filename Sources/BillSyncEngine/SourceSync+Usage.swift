import BillSyncConfig
import BillSyncCore
import BillSyncHTTP
import BillSyncProviders
import BillSyncStore
import Foundation
import Logging

/// The usage windows, walked forward from where the last sync got to.
extension SourceSync {
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
            logger.info(
                "usage.resume",
                metadata: [
                    "window_start": .string(UTC.iso8601(window.start)), "window_end": .string(UTC.iso8601(window.end)),
                ])
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
        defer { try? settle() }  // leaving on an error: the page before it still commits
        while true {
            try checkStop()
            let page = try provider.usagePage(start: window.start, end: window.end, cursor: cursor)
            if let next = page.next, !cursors.insert(next).inserted {
                throw ProviderError.repeatingCursor(endpoint: provider.usageEndpoint, cursor: next)
            }
            let position: UsagePosition =
                page.next.map { .inWindow(UsageWindow(start: window.start, end: window.end, cursor: $0)) }
                ?? .windowDone(doneUntil: window.end)
            try settle()
            pending = (
                store.commitUsagePageLater(
                    source: source.name, provider: providerName, hours: page.hours, position: position),
                page.hours.count
            )
            guard let next = page.next else { break }
            cursor = next
        }
        try settle()
    }
}

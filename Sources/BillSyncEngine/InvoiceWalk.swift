import BillSyncCore
import BillSyncProviders
import BillSyncStore
import Foundation

/// A source's invoice list read newest first, as far as it has to be: the walk, its resume,
/// and the re-read of invoices still owed.
public final class InvoiceWalk {
    let context: SyncContext
    let provider: BillingProvider
    let details: DetailFetcher

    /// `details` fetches line items when the provider's list has none; by default over the
    /// walk's own connection only.
    public init(context: SyncContext, provider: BillingProvider, details: DetailFetcher? = nil) {
        self.context = context
        self.provider = provider
        self.details =
            details ?? DetailFetcher(context: context, first: provider, lanes: 1, makeLane: { provider })
    }

    var store: BillingStore { context.store }

    /// A walk reads its list's head again at its end only when the head it began from is
    /// older than this (seconds), or was read before the current UTC day began: invoices
    /// issued meanwhile are then picked up now instead of at the next poll. A walk that was
    /// interrupted counts from the head page of its first sync, and also reads the head again
    /// when invoices still owed lie before the page it resumed at.
    public static let headReReadAge: Int64 = 600

    static func headIsStale(readAt: Int64?, now: Int64) -> Bool {
        guard let readAt else { return true }
        let dayStart = now - (now % 86_400 + 86_400) % 86_400
        return now - readAt > headReReadAge || readAt < dayStart
    }

    var headKey: String { "walk_head_read_at:" + context.source }

    /// Everything new or changed since the last sync, committed page by page.
    public func run() throws {
        let state = try store.state(source: context.source, provider: context.provider)
        var seen = Set<String>()
        let headReadAt: Int64?
        var owedAbove = false
        if state.walkActive {
            context.logger.info("invoices.resume", metadata: ["cursor": .string(state.walkCursor ?? "")])
            headReadAt = try store.meta(headKey).flatMap { Int64($0) }
            try walk(from: state.walkCursor, full: state.walkFull, seen: &seen)
            // Invoices still owed on the pages before the resumed one: the head walk reads them
            // a page at a time, where they would otherwise cost a detail request each.
            owedAbove = !Set(try store.nonFinalInvoiceIDs(source: context.source)).subtracting(seen).isEmpty
        } else {
            headReadAt = context.clock.now()
            try walk(from: nil, full: state.walkFull, seen: &seen, headReadAt: headReadAt)
        }
        if owedAbove || Self.headIsStale(readAt: headReadAt, now: context.clock.now()) {
            context.logger.debug(
                "invoices.head_again", metadata: ["head_read_at": .string(headReadAt.map(UTC.iso8601) ?? "unknown")])
            try walk(from: nil, full: false, seen: &seen)
        }
        if provider.needsInvoiceDetail {
            for id in try store.nonFinalInvoiceIDs(source: context.source) where !seen.contains(id) {
                try context.checkStop()
                let invoice = try details.detail(id)
                try context.commit([invoice], position: nil)
            }
        }
    }

    /// Walks the list newest first from `start`, committing each page with the cursor that
    /// follows it. Stops at the end of the list or, unless `full`, at the first page whose
    /// oldest invoice is already stored unchanged, once every stored open invoice has been re-read.
    /// `headReadAt`, for a walk from the head, is remembered once the walk goes past its first
    /// page, for the rule of ``headReReadAge`` should the walk be interrupted.
    func walk(from start: String?, full: Bool, seen: inout Set<String>, headReadAt: Int64? = nil) throws {
        var cursor = start
        var cursors = Set<String>()
        if let start { cursors.insert(start) }
        var unreadOpen = Set(try store.nonFinalInvoiceIDs(source: context.source)).subtracting(seen)
        while true {
            try context.checkStop()
            let page = try provider.invoicePage(cursor: cursor)
            if cursor == start, let total = page.listTotal {
                // What the list says it holds, for `reconcile` (read again by every walk).
                try store.setListTotal(source: context.source, total)
            }
            if let next = page.next, !cursors.insert(next).inserted {
                throw ProviderError.repeatingCursor(endpoint: provider.invoiceEndpoint, cursor: next)
            }
            let known = try store.knownInvoices(source: context.source, ids: page.invoices.map(\.id))
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
            let fetched = try details.fetch(needDetail)
            let reachedEnd = page.next == nil
            // Newest first: once the oldest invoice of a page is one we hold unchanged, every
            // later page holds only invoices we have already read.
            let stopEarly = !full && oldestIsKnown && (provider.needsInvoiceDetail || unreadOpen.isEmpty)
            let done = reachedEnd || stopEarly
            try context.commit(
                fetched + invoices, position: done ? .finished(reachedEnd: reachedEnd) : .next(cursor: page.next!))
            if done { return }
            if cursor == nil, let headReadAt { try store.setMeta(headKey, String(headReadAt)) }
            cursor = page.next
        }
    }
}

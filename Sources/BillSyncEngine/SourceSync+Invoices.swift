import BillSyncConfig
import BillSyncCore
import BillSyncHTTP
import BillSyncProviders
import BillSyncStore
import Foundation
import Logging

/// The invoice walk, the re-read of owed invoices, and the details fetched side by side.
extension SourceSync {
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
            try commit(
                fetched + invoices, position: done ? .finished(reachedEnd: reachedEnd) : .next(cursor: page.next!))
            if done { return }
            cursor = page.next
        }
    }

    func detail(_ id: String) throws -> Invoice {
        report.detailRequests += 1
        return try provider.invoiceDetail(id: id)
    }

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
                let connection = PacedHTTP(
                    client: HTTPClient(options: http.client.options, stop: stop), sharingWith: http)
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
                results.set(
                    i, Result { () throws(ProviderError) -> Invoice in try lane.provider.invoiceDetail(id: id) })
            }
        }
        results.set(0, Result { () throws(ProviderError) -> Invoice in try lanes[0].invoiceDetail(id: ids[0]) })
        group.wait()
        return results.all
    }

    func commit(_ invoices: [Invoice], position: WalkPosition?) throws {
        let now = clock.now()
        count(
            try store.commitInvoicePage(
                source: source.name, provider: providerName, invoices: reconciled(invoices),
                position: position, seenAt: now, syncDay: UTC.startOfDay(now)))
    }

    /// ``commit(_:position:)`` for details without a position, on the store's commit queue;
    /// hand the result to ``count(_:)`` once it is in.
    func commitLater(_ invoices: [Invoice]) -> PendingCommit<PageOutcome> {
        let now = clock.now()
        return store.commitInvoicePageLater(
            source: source.name, provider: providerName, invoices: reconciled(invoices),
            position: nil, seenAt: now, syncDay: UTC.startOfDay(now))
    }

    func count(_ outcome: PageOutcome) {
        report.invoicesNew += outcome.new
        report.invoicesChanged += outcome.changed
        for (id, fields) in outcome.incomplete {
            logger.warning(
                "invoice.incomplete",
                metadata: [
                    "invoice": .string(id), "fields": .string(fields.joined(separator: ",")),
                    "reason":
                        "the provider left these fields out; billsync filled them as its README's field table says",
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
                logger.warning(
                    "invoice.adjusted",
                    metadata: [
                        "invoice": .string(reconciled[i].id), "difference": .string(difference.description),
                        "total": .string(reconciled[i].total.description),
                        "reason":
                            "line items do not sum to the invoice total; an adjustment line records the difference",
                    ])
            }
        }
        return reconciled
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

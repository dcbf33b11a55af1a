import BillSyncCore
import BillSyncHTTP
import BillSyncProviders
import BillSyncStore
import Foundation

/// A provider whose invoice list lives in memory: `invoices` newest first, `perPage` a page,
/// cursors `p2`, `p3`, …; every page request is recorded, and a page can be made to fail.
final class FakeProvider: BillingProvider, @unchecked Sendable {
    let client = ProviderClient(
        http: PacedHTTP(client: HTTPClient(), rateLimit: nil, retry: RetryPolicy(), stop: StopFlag()),
        baseURL: "http://127.0.0.1:9", authHeader: ("x", "y"), secret: "unused")
    let lock = NSLock()
    var invoices: [Invoice]
    let perPage: Int
    let withDetails: Bool
    /// The cursors asked for (nil: the head), in order.
    var pagesRead: [String?] = []
    var detailsRead: [String] = []
    /// Called at each list page, before it is answered (to let time pass).
    var onPage: (() -> Void)?
    /// The page (by cursor) that answers 400 instead.
    var failing: String??
    /// Details that answer 400 instead.
    var failingDetails: Set<String> = []
    /// Hourly usage, oldest first; `usagePerPage` hours a page, windows of `windowHours`.
    var usage: [UsageHour] = []
    var usagePerPage = 3
    var windowHours: Int64? = 6
    /// The usage pages asked for: window start, window end, cursor.
    var usageRead: [String] = []
    /// The usage page (by "start/cursor") that answers 400 instead.
    var failingUsage: String?

    init(invoices: [Invoice], perPage: Int = 2, withDetails: Bool = false) {
        self.invoices = invoices
        self.perPage = perPage
        self.withDetails = withDetails
    }

    var invoiceEndpoint: String { "/fake/invoices" }
    var needsInvoiceDetail: Bool { withDetails }

    func invoicePage(cursor: String?) throws(ProviderError) -> InvoicePage {
        onPage?()
        let (all, fail): ([Invoice], Bool) = lock.withLock {
            pagesRead.append(cursor)
            return (invoices, failing == .some(cursor))
        }
        if fail { throw .http(endpoint: invoiceEndpoint, status: 400, message: "no") }
        let page = cursor.map { Int($0.dropFirst())! } ?? 1
        let slice = Array(all.dropFirst((page - 1) * perPage).prefix(perPage))
        let listed =
            withDetails
            ? slice.map { invoice -> Invoice in
                var listed = invoice
                listed.lineItems = nil
                return listed
            } : slice
        return InvoicePage(invoices: listed, next: page * perPage < all.count ? "p\(page + 1)" : nil)
    }

    func decodeInvoicePage(_ json: JSONValue, cursor: String?) throws(ProviderError) -> InvoicePage {
        try invoicePage(cursor: cursor)
    }

    func invoiceDetail(id: String) throws(ProviderError) -> Invoice {
        let (invoice, fail) = lock.withLock {
            detailsRead.append(id)
            return (invoices.first { $0.id == id }!, failingDetails.contains(id))
        }
        if fail { throw .http(endpoint: "/fake/invoices/\(id)", status: 400, message: "no") }
        return invoice
    }

    var hasUsage: Bool { true }
    var usageEndpoint: String { "/fake/usage" }
    var usageWindowHours: Int64? { windowHours }

    func usagePage(start: Int64, end: Int64, cursor: String?) throws(ProviderError) -> UsagePage {
        let key = "\(UTC.iso8601(start))/\(cursor ?? "-")"
        let (hours, fail): ([UsageHour], Bool) = lock.withLock {
            usageRead.append(key)
            return (usage.filter { $0.hourStart >= start && $0.hourStart < end }, failingUsage == key)
        }
        if fail { throw .http(endpoint: usageEndpoint, status: 400, message: "no") }
        let page = cursor.map { Int($0.dropFirst())! } ?? 1
        let slice = Array(hours.dropFirst((page - 1) * usagePerPage).prefix(usagePerPage))
        return UsagePage(hours: slice, next: page * usagePerPage < hours.count ? "u\(page + 1)" : nil)
    }

    func decodeInvoiceDetail(_ json: JSONValue, id: String) throws(ProviderError) -> Invoice {
        try invoiceDetail(id: id)
    }

    func setStatus(_ id: String, _ status: InvoiceStatus) {
        lock.withLock {
            let i = invoices.firstIndex { $0.id == id }!
            invoices[i].status = status
            invoices[i].providerStatus = status.rawValue
        }
    }

    func reset() {
        lock.withLock {
            pagesRead = []
            detailsRead = []
            usageRead = []
        }
    }
}

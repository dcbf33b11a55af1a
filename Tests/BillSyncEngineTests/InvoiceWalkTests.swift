import BillSyncConfig
import BillSyncCore
import BillSyncHTTP
import BillSyncProviders
import BillSyncStore
import Foundation
import Logging
import Testing

@testable import BillSyncEngine

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
    /// The page (by cursor) that answers 400 instead.
    var failing: String??

    init(invoices: [Invoice], perPage: Int = 2, withDetails: Bool = false) {
        self.invoices = invoices
        self.perPage = perPage
        self.withDetails = withDetails
    }

    var invoiceEndpoint: String { "/fake/invoices" }
    var needsInvoiceDetail: Bool { withDetails }

    func invoicePage(cursor: String?) throws(ProviderError) -> InvoicePage {
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
        lock.withLock {
            detailsRead.append(id)
            return invoices.first { $0.id == id }!
        }
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
        }
    }
}

/// The invoice walk's rules, driven through ``SourceSync`` with a ``FakeProvider`` and a store
/// in a temporary file: no binary, no HTTP.
@Suite struct InvoiceWalkTests {
    /// Invoice `inv-N` for month N, newest (highest N) first in the list.
    static func invoices(_ count: Int, open: Set<Int> = []) -> [Invoice] {
        (1...count).reversed().map { n in
            let start = Int64(1_700_000_000 + n * 2_678_400)
            let status: InvoiceStatus = open.contains(n) ? .open : .paid
            return Invoice(
                id: "inv-\(n)", status: status, providerStatus: status.rawValue, currency: "USD",
                periodStart: start, periodEnd: start + 2_678_400, issuedOn: start + 2_678_400,
                total: ExactDecimal(n),
                lineItems: [
                    LineItem(lineType: "cpu", category: .usage, description: "CPU", amount: ExactDecimal(n))
                ])
        }
    }

    final class Harness {
        let fake: FakeProvider
        let store: BillingStore
        let config: Config

        init(_ fake: FakeProvider) throws {
            self.fake = fake
            let dir = FileManager.default.temporaryDirectory.path + "/billsync-walk-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            var config = try ConfigLoader.parse(
                """
                state_dir = "\(dir)"
                [[sources]]
                name = "fake"
                provider = "usageflow"
                api_key = "unused"
                base_url = "http://127.0.0.1:9"
                rate_limit = "none"
                """, path: dir + "/billsync.toml")
            let base = config.sources[0]
            let descriptor = ProviderDescriptor(
                kind: ProviderKind(rawValue: "fake"), vendor: "Fake", defaultBaseURL: nil,
                documentedRateLimit: RateLimit(requests: 60, period: 60), focusName: "Fake",
                serviceCategory: { _ in "Other" }, make: { _, _ in fake })
            var source = SourceConfig(name: "fake", descriptor: descriptor, key: base.key, baseURL: base.baseURL)
            source.rateLimit = nil
            config.sources = [source]
            self.config = config
            store = try BillingStore(path: config.databasePath)
        }

        /// One sync; the pages it read.
        @discardableResult
        func sync() -> (report: SyncReport, pages: [String?]) {
            fake.reset()
            let report = SourceSync(
                source: config.sources[0], config: config, store: store,
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                stop: StopFlag(), clock: SyncClock(fixed: 1_800_000_000)
            ).run()
            return (report, fake.pagesRead)
        }

        var stored: [String: String] {
            Dictionary(
                uniqueKeysWithValues: (try? store.allInvoices())?.map { ($0.invoice.id, $0.invoice.status.rawValue) }
                    ?? [])
        }
    }

    @Test func aSyncWithNothingNewReadsOnlyTheHeadPage() throws {
        let h = try Harness(FakeProvider(invoices: Self.invoices(7)))
        #expect(h.sync().pages == [nil, "p2", "p3", "p4"])
        #expect(h.stored.count == 7)
        #expect(h.sync().pages == [nil])
    }

    @Test func newInvoicesAtTheHeadAreReadUntilAPageEndsOnAKnownOne() throws {
        let fake = FakeProvider(invoices: Self.invoices(7))
        let h = try Harness(fake)
        h.sync()
        fake.lock.withLock { fake.invoices = Self.invoices(10) }
        // 10 9 | 8 7 | …: the second page ends on inv-7, already stored unchanged.
        #expect(h.sync().pages == [nil, "p2"])
        #expect(h.stored.count == 10)
    }

    @Test func anOwedInvoiceIsReReadEvenBelowTheFirstPageUntilItIsPaid() throws {
        let fake = FakeProvider(invoices: Self.invoices(7, open: [2]))
        let h = try Harness(fake)
        h.sync()
        #expect(h.stored["inv-2"] == "open")
        // inv-2 is on page 3 (7 6 | 5 4 | 3 2 | 1): every sync walks down to it while it is owed.
        #expect(h.sync().pages == [nil, "p2", "p3"])
        fake.setStatus("inv-2", .paid)
        // Its page now ends on a changed invoice, so the walk goes one page further to be sure.
        #expect(h.sync().pages == [nil, "p2", "p3", "p4"])
        #expect(h.stored["inv-2"] == "paid")
        #expect(h.sync().pages == [nil])
    }

    @Test func aFailedWalkResumesAtThePageThatFailedThenReadsTheHeadAgain() throws {
        let fake = FakeProvider(invoices: Self.invoices(7))
        let h = try Harness(fake)
        fake.failing = .some("p3")
        let failed = h.sync()
        #expect(!failed.report.succeeded)
        #expect(failed.pages == [nil, "p2", "p3"])
        #expect(h.stored.count == 4, "the pages before the failure stay committed")
        fake.failing = nil
        // Resumes at p3, reads to the end, then the head once more (it may have moved meanwhile).
        #expect(h.sync().pages == ["p3", "p4", nil])
        #expect(h.stored.count == 7)
    }

    @Test func detailsAreReadOnlyForNewChangedAndOwedInvoices() throws {
        let fake = FakeProvider(invoices: Self.invoices(5, open: [1]), withDetails: true)
        let h = try Harness(fake)
        h.sync()
        #expect(Set(fake.detailsRead) == Set((1...5).map { "inv-\($0)" }))
        // Nothing changed: one page, and the owed inv-1 (not on it) is read by its detail.
        #expect(h.sync().pages == [nil])
        #expect(fake.detailsRead == ["inv-1"])
        fake.setStatus("inv-4", .open)
        // inv-4 ends the head page and changed: the walk reads the next page too (3 2, unchanged).
        #expect(h.sync().pages == [nil, "p2"])
        #expect(Set(fake.detailsRead) == ["inv-4", "inv-1"])
    }
}

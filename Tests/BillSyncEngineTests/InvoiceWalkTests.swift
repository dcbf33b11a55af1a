import BillSyncCore
import Foundation
import Testing

@testable import BillSyncEngine

/// The invoice walk's rules, ``InvoiceWalk`` and ``DetailFetcher`` driven with a ``FakeProvider``
/// and a store in a temporary file: no binary, no HTTP.
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

    @Test func aSyncWithNothingNewReadsOnlyTheHeadPage() throws {
        let h = try EngineHarness(FakeProvider(invoices: Self.invoices(7)))
        #expect(h.sync().pages == [nil, "p2", "p3", "p4"])
        #expect(h.stored.count == 7)
        #expect(h.sync().pages == [nil])
    }

    @Test func newInvoicesAtTheHeadAreReadUntilAPageEndsOnAKnownOne() throws {
        let fake = FakeProvider(invoices: Self.invoices(7))
        let h = try EngineHarness(fake)
        h.sync()
        fake.lock.withLock { fake.invoices = Self.invoices(10) }
        // 10 9 | 8 7 | …: the second page ends on inv-7, already stored unchanged.
        #expect(h.sync().pages == [nil, "p2"])
        #expect(h.stored.count == 10)
    }

    @Test func anOwedInvoiceIsReReadEvenBelowTheFirstPageUntilItIsPaid() throws {
        let fake = FakeProvider(invoices: Self.invoices(7, open: [2]))
        let h = try EngineHarness(fake)
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

    @Test func aFailedWalkResumesAtThePageThatFailedThenReadsTheHeadAgainOnlyIfItIsOld() throws {
        let fake = FakeProvider(invoices: Self.invoices(7))
        let h = try EngineHarness(fake)
        fake.failing = .some("p3")
        let failed = h.sync()
        #expect(failed.error != nil)
        #expect(failed.pages == [nil, "p2", "p3"])
        #expect(h.stored.count == 4, "the pages before the failure stay committed")
        fake.failing = nil
        // Resumed a minute later: the head it began from is recent enough, so no head re-read.
        h.now += 60
        #expect(h.sync().pages == ["p3", "p4"])
        #expect(h.stored.count == 7)
        // Resumed more than ten minutes after its head page: reads the head once more at the end.
        let later = try EngineHarness(FakeProvider(invoices: Self.invoices(7)))
        later.fake.failing = .some("p3")
        #expect(later.sync().error != nil)
        later.fake.failing = nil
        later.now += InvoiceWalk.headReReadAge + 1
        #expect(later.sync().pages == ["p3", "p4", nil])
        #expect(later.stored.count == 7)
        // Resumed a minute later, with an invoice still owed on the head page: the head page
        // re-reads it (one request), not a detail request of its own.
        let owed = try EngineHarness(FakeProvider(invoices: Self.invoices(7, open: [7])))
        owed.fake.failing = .some("p3")
        #expect(owed.sync().error != nil)
        owed.fake.failing = nil
        owed.now += 60
        #expect(owed.sync().pages == ["p3", "p4", nil])
    }

    @Test func aLongWalkOrOneAcrossMidnightReadsTheHeadAgain() throws {
        let fake = FakeProvider(invoices: Self.invoices(7))
        let h = try EngineHarness(fake)
        // Four pages, 200 s each: the head is 800 s old at the end.
        fake.onPage = { h.now += 200 }
        #expect(h.sync().pages == [nil, "p2", "p3", "p4", nil])
        // A quick walk that does not cross midnight: no second read.
        fake.onPage = nil
        fake.invoices.insert(Self.invoices(9)[1], at: 0)
        #expect(h.sync().pages == [nil])
        // A quick walk that crosses midnight (UTC) reads the head again.
        h.now = 1_800_057_599  // 23:59:59
        fake.onPage = { h.now += 1 }
        fake.invoices.insert(Self.invoices(9)[0], at: 0)
        #expect(h.sync().pages == [nil, nil])
    }

    @Test func detailsAreReadOnlyForNewChangedAndOwedInvoices() throws {
        let fake = FakeProvider(invoices: Self.invoices(5, open: [1]), withDetails: true)
        let h = try EngineHarness(fake)
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

    @Test func aFailedDetailKeepsTheDetailsBeforeItAndTheNextSyncAsksOnlyForTheRest() throws {
        let fake = FakeProvider(invoices: Self.invoices(9), perPage: 9, withDetails: true)
        let h = try EngineHarness(fake, lanes: 1)
        fake.failingDetails = ["inv-3"]
        #expect(h.sync().error != nil)
        // 9 … 4 came before the failure and are kept; the page itself did not commit.
        #expect(fake.detailsRead == (3...9).reversed().map { "inv-\($0)" })
        #expect(h.stored.count == 6)
        fake.failingDetails = []
        h.sync()
        #expect(Set(fake.detailsRead) == ["inv-1", "inv-2", "inv-3"])
        #expect(h.stored.count == 9)
    }
}

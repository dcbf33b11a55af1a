import BillSyncCore
import BillSyncProviders
import BillSyncStore
import Foundation
import Logging

/// What the parts of one source's sync share: the store they commit to under the source's
/// name, the log, the stop flag, the clock, and the report they add their counts to.
public final class SyncContext {
    public let source: String
    public let provider: String
    public let store: BillingStore
    public let logger: Logger
    public let stop: StopFlag
    public let clock: SyncClock
    public var report: SyncReport

    public init(
        source: String, provider: String, store: BillingStore, logger: Logger, stop: StopFlag, clock: SyncClock
    ) {
        self.source = source
        self.provider = provider
        self.store = store
        self.logger = logger
        self.stop = stop
        self.clock = clock
        report = SyncReport(source: source)
    }

    func checkStop() throws(ProviderError) {
        if stop.isSet { throw .stopped }
    }

    /// The invoices, with the walk's position after them if any, in one transaction.
    func commit(_ invoices: [Invoice], position: WalkPosition?) throws {
        let now = clock.now()
        count(
            try store.commitInvoicePage(
                source: source, provider: provider, invoices: reconciled(invoices),
                position: position, seenAt: now, syncDay: UTC.startOfDay(now)))
    }

    /// ``commit(_:position:)`` for details without a position, on the store's commit queue;
    /// hand the result to ``count(_:)`` once it is in.
    func commitLater(_ invoices: [Invoice]) -> PendingCommit<PageOutcome> {
        let now = clock.now()
        return store.commitInvoicePageLater(
            source: source, provider: provider, invoices: reconciled(invoices),
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

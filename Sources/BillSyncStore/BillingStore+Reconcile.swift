import BillSyncCore
import Foundation

/// What `reconcile` reads: the invoices in report order, with the usage of their periods read
/// on the same connection.
extension BillingStore {
    /// The usage view handed to ``forEachInvoiceByPeriod(source:_:)``'s body.
    public struct UsageReader {
        let db: Database

        public func summary(source: String, from: Int64, to: Int64) throws -> UsageSummary {
            try BillingStore.usageSummary(db, source: source, from: from, to: to)
        }

        public func missingHours(source: String, from: Int64, to: Int64) throws -> [Int64] {
            try BillingStore.missingUsageHours(db, source: source, from: from, to: to)
        }
    }

    /// Each invoice (of `source`, or all) by source, period start and id, with its lines'
    /// types and amounts, one at a time: memory does not grow with the invoices.
    public func forEachInvoiceByPeriod(
        source: String?,
        _ body: (_ invoice: InvoiceRow, _ lines: [(lineType: String, amount: String)], _ usage: UsageReader) throws
            -> Void
    ) throws {
        try pool.read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT \(Self.invoiceRowColumns) FROM invoices
                    WHERE ?1 IS NULL OR source = ?1 ORDER BY source, period_start, invoice_id
                    """, arguments: [source])
            let linesOf = try db.makeStatement(
                sql: "SELECT line_type, amount FROM line_items WHERE source = ? AND invoice_id = ? ORDER BY line_no")
            let usage = UsageReader(db: db)
            var inv = InvoiceRow()
            while let r = try rows.next() {
                Self.read(&inv, r, from: 0)
                try body(inv, try Self.lines(linesOf, inv), usage)
            }
        }
    }

    /// The sources that hold invoices, with their providers.
    public func invoiceSources() throws -> [(source: String, provider: String)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT DISTINCT source, provider FROM invoices ORDER BY source").map {
                ($0[0], $0[1])
            }
        }
    }
}

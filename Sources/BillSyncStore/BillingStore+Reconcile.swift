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
                    SELECT source, invoice_id, provider, status, currency, period_start, period_end, issued_on, paid_on,
                        total, credits_applied FROM invoices
                    WHERE ?1 IS NULL OR source = ?1 ORDER BY source, period_start, invoice_id
                    """, arguments: [source])
            let linesOf = try db.makeStatement(
                sql: "SELECT line_type, amount FROM line_items WHERE source = ? AND invoice_id = ? ORDER BY line_no")
            let usage = UsageReader(db: db)
            var inv = InvoiceRow()
            while let r = try rows.next() {
                inv.source = r[0]
                inv.id = Self.text(r, 1)
                inv.provider = r[2]
                inv.status = r[3]
                inv.currency = r[4]
                inv.periodStart = r[5]
                inv.periodEnd = r[6]
                inv.issuedOn = r[7]
                inv.paidOn = r[8]
                inv.total = r[9]
                inv.creditsApplied = r[10]
                var lines: [(lineType: String, amount: String)] = []
                let lineRows = try Row.fetchCursor(linesOf, arguments: [inv.source, Self.bind(inv.id)])
                while let l = try lineRows.next() { lines.append((Self.text(l, 0), l[1])) }
                try body(inv, lines, usage)
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

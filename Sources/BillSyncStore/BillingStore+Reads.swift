import BillSyncCore
import Foundation

/// Reads for `status`, the journals and the FOCUS files.
extension BillingStore {
    public struct Counts: Sendable, Equatable {
        public var invoices = 0
        public var openInvoices = 0
        public var lineItems = 0
        public var usageHours = 0
        public var historyRows = 0
        /// Invoices with a field the provider left out (filled by its fallback).
        public var incompleteInvoices = 0
    }

    public func counts(source: String) throws -> Counts {
        try pool.read { db in
            var c = Counts()
            c.invoices =
                try Int.fetchOne(db, sql: "SELECT count(*) FROM invoices WHERE source = ?", arguments: [source]) ?? 0
            c.openInvoices =
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM invoices WHERE source = ? AND status <> 'paid'", arguments: [source])
                ?? 0
            c.lineItems =
                try Int.fetchOne(db, sql: "SELECT count(*) FROM line_items WHERE source = ?", arguments: [source]) ?? 0
            c.usageHours =
                try Int.fetchOne(db, sql: "SELECT count(*) FROM usage_hours WHERE source = ?", arguments: [source]) ?? 0
            c.historyRows =
                try Int.fetchOne(db, sql: "SELECT count(*) FROM invoice_history WHERE source = ?", arguments: [source])
                ?? 0
            c.incompleteInvoices =
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM invoices WHERE source = ? AND fallbacks <> ''",
                    arguments: [source]) ?? 0
            return c
        }
    }

    /// Every invoice with its lines, ordered by source, issue date, id.
    public func allInvoices() throws -> [StoredInvoice] {
        try pool.read { db in
            var lines: [InvoiceKey: [LineItem]] = [:]
            let lineRows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT source, invoice_id, line_no, line_type, category, description, quantity, unit, unit_price, amount,
                        resource_id, attributes FROM line_items ORDER BY source, invoice_id, line_no
                    """)
            while let r = try lineRows.next() {
                let key = InvoiceKey(source: r[0], id: Self.text(r, 1))
                lines[key, default: []].append(
                    LineItem(
                        lineNo: r[2], lineType: Self.text(r, 3), category: LineCategory(rawValue: r[4]) ?? .usage,
                        description: Self.text(r, 5),
                        quantity: try (r[6] as String?).map { try ExactDecimal(parsing: $0) }, unit: Self.text(r, 7),
                        unitPrice: try (r[8] as String?).map { try ExactDecimal(parsing: $0) },
                        amount: try ExactDecimal(parsing: r[9] as String),
                        resourceID: Self.text(r, 10), attributes: Self.text(r, 11)))
            }
            var out: [StoredInvoice] = []
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT source, provider, invoice_id, invoice_number, status, provider_status, currency, period_start,
                        period_end, issued_on, paid_on, subtotal, total, credits_applied, url
                    FROM invoices ORDER BY source, issued_on, invoice_id
                    """)
            while let r = try rows.next() {
                let source: String = r[0]
                let id = Self.text(r, 2)
                let invoice = Invoice(
                    id: id, number: Self.text(r, 3), status: InvoiceStatus(rawValue: r[4]) ?? .unknown,
                    providerStatus: Self.text(r, 5),
                    currency: r[6], periodStart: r[7], periodEnd: r[8], issuedOn: r[9],
                    subtotal: try (r[11] as String?).map { try ExactDecimal(parsing: $0) },
                    total: try ExactDecimal(parsing: r[12] as String),
                    creditsApplied: try ExactDecimal(parsing: r[13] as String),
                    url: Self.text(r, 14), lineItems: lines[InvoiceKey(source: source, id: id)] ?? [])
                out.append(StoredInvoice(source: source, provider: r[1], invoice: invoice, paidOn: r[10]))
            }
            return out
        }
    }

    /// One stored invoice as text, for exports that copy it out as is. Amounts are the stored
    /// canonical decimals; times unix seconds.
    public struct InvoiceRow {
        public var source = "", provider = "", id = "", number = "", status = "", providerStatus = "", currency = ""
        public var periodStart: Int64 = 0, periodEnd: Int64 = 0, issuedOn: Int64 = 0, paidOn: Int64?
        public var subtotal: String?, total = "", creditsApplied = "", url = ""
    }

    /// The journals' view of the store, in journal order, without holding it all: each
    /// invoice on its issue date (`payment` false) with its line items' types and amounts,
    /// and each paid invoice again on its payment date (`payment` true, no lines); ordered by
    /// date, invoices before payments, source, invoice id. SQLite sorts, within its cache.
    public func forEachLedgerEntry(
        _ body: (_ payment: Bool, _ invoice: InvoiceRow, _ lines: [(lineType: String, amount: String)]) throws -> Void
    ) throws {
        try pool.read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT 0 AS kind, issued_on AS day, source, invoice_id, provider, status, currency, period_start, period_end,
                        issued_on, paid_on, total, credits_applied FROM invoices
                    UNION ALL
                    SELECT 1, paid_on, source, invoice_id, provider, status, currency, period_start, period_end,
                        issued_on, paid_on, total, credits_applied FROM invoices WHERE status = 'paid' AND paid_on IS NOT NULL
                    ORDER BY day, kind, source, invoice_id
                    """)
            let linesOf = try db.makeStatement(
                sql: "SELECT line_type, amount FROM line_items WHERE source = ? AND invoice_id = ? ORDER BY line_no")
            var inv = InvoiceRow()
            while let r = try rows.next() {
                let payment: Int = r[0]
                Self.read(&inv, r, from: 2)
                try body(payment == 1, inv, payment == 0 ? try Self.lines(linesOf, inv) : [])
            }
        }
    }

    /// An invoice's columns as ``invoiceRowColumns`` lists them, from column `first` on.
    static func read(_ inv: inout InvoiceRow, _ r: Row, from first: Int) {
        inv.source = r[first]
        inv.id = Self.text(r, first + 1)
        inv.provider = r[first + 2]
        inv.status = r[first + 3]
        inv.currency = r[first + 4]
        inv.periodStart = r[first + 5]
        inv.periodEnd = r[first + 6]
        inv.issuedOn = r[first + 7]
        inv.paidOn = r[first + 8]
        inv.total = r[first + 9]
        inv.creditsApplied = r[first + 10]
    }

    /// `source, invoice_id, provider, status, currency, period_start, period_end, issued_on,
    /// paid_on, total, credits_applied`, as ``read(_:_:from:)`` reads them.
    static let invoiceRowColumns =
        "source, invoice_id, provider, status, currency, period_start, period_end, issued_on, paid_on, total, credits_applied"

    /// An invoice's line types and amounts, in line order, through
    /// `SELECT line_type, amount FROM line_items WHERE source = ? AND invoice_id = ? ORDER BY line_no`.
    static func lines(_ statement: Statement, _ inv: InvoiceRow) throws -> [(lineType: String, amount: String)] {
        var lines: [(lineType: String, amount: String)] = []
        let rows = try Row.fetchCursor(statement, arguments: [inv.source, Self.bind(inv.id)])
        while let l = try rows.next() { lines.append((Self.text(l, 0), l[1])) }
        return lines
    }

    /// One stored line item as text, with its invoice's source, provider and currency.
    public struct LineItemRow {
        public var source = "", provider = "", invoiceID = "", lineNo = 0, lineType = "", category = "",
            description = ""
        public var quantity: String?, unit = "", unitPrice: String?, amount = "", currency = "", resourceID = "",
            attributes = ""
    }

    /// Every line item, ordered by source, its invoice's issue date and id, then line number.
    public func forEachLineItemRow(_ body: (LineItemRow) throws -> Void) throws {
        var out = LineItemRow()
        try forEachRawLineItemRow { r in
            out.source = r.string(.source)
            out.provider = r.string(.provider)
            out.invoiceID = r.string(.invoiceID)
            out.lineNo = Int(r.int64(.lineNo))
            out.lineType = r.string(.lineType)
            out.category = r.string(.category)
            out.description = r.string(.description)
            out.quantity = r.isNull(.quantity) ? nil : r.string(.quantity)
            out.unit = r.string(.unit)
            out.unitPrice = r.isNull(.unitPrice) ? nil : r.string(.unitPrice)
            out.amount = r.string(.amount)
            out.currency = r.string(.currency)
            out.resourceID = r.string(.resourceID)
            out.attributes = r.string(.attributes)
            try body(out)
        }
    }

    /// Every line item with its invoice, ordered by the UTC month the invoice's period starts
    /// in, then as ``forEachLineItemRow(_:)``.
    public func forEachLineByPeriodMonth(_ body: (LineItemRow, InvoiceRow) throws -> Void) throws {
        try pool.read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT l.source, i.provider, l.invoice_id, l.line_no, l.line_type, l.category, l.description, l.quantity,
                        l.unit, l.unit_price, l.amount, i.currency, l.resource_id, l.attributes,
                        i.period_start, i.period_end, i.status, i.issued_on, i.paid_on
                    FROM line_items l JOIN invoices i ON i.source = l.source AND i.invoice_id = l.invoice_id
                    ORDER BY strftime('%Y-%m', i.period_start, 'unixepoch'), l.source, i.issued_on, l.invoice_id, l.line_no
                    """)
            var line = LineItemRow()
            var inv = InvoiceRow()
            while let r = try rows.next() {
                line.source = r[0]
                line.provider = r[1]
                line.invoiceID = Self.text(r, 2)
                line.lineNo = r[3]
                line.lineType = Self.text(r, 4)
                line.category = r[5]
                line.description = Self.text(r, 6)
                line.quantity = r[7]
                line.unit = Self.text(r, 8)
                line.unitPrice = r[9]
                line.amount = r[10]
                line.currency = r[11]
                line.resourceID = Self.text(r, 12)
                line.attributes = Self.text(r, 13)
                inv.source = line.source
                inv.provider = line.provider
                inv.id = line.invoiceID
                inv.currency = line.currency
                inv.periodStart = r[14]
                inv.periodEnd = r[15]
                inv.status = r[16]
                inv.issuedOn = r[17]
                inv.paidOn = r[18]
                try body(line, inv)
            }
        }
    }

    /// The UTC months (`YYYY-MM`) that hold usage, oldest first.
    public func usageMonths() throws -> [String] {
        try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT MIN(hour_start), MAX(hour_start) FROM usage_hours"),
                let low: Int64 = row[0], let high: Int64 = row[1]
            else { return [] }
            var months: [String] = []
            var c = UTC.civil(low)
            c.day = 1
            c.hour = 0
            c.minute = 0
            c.second = 0
            while UTC.unix(c) <= high {
                months.append(UTC.month(UTC.unix(c)))
                c.month += 1
                if c.month > 12 {
                    c.month = 1
                    c.year += 1
                }
            }
            return months
        }
    }

    /// A row as SQLite hands it over: the bytes are valid only during the call.
}

extension BillingStore {
    /// Rows in the store, all sources together.
    public func totals() throws -> (invoices: Int, lineItems: Int, usageHours: Int) {
        try pool.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM invoices") ?? 0,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM line_items") ?? 0,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM usage_hours") ?? 0
            )
        }
    }
}

extension BillingStore {
    /// Each invoice not paid: its source, currency and total (decimal text).
    public func openInvoiceTotals() throws -> [(source: String, currency: String, total: String)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT source, currency, total FROM invoices WHERE status <> 'paid'").map {
                (source: $0[0], currency: $0[1], total: $0[2])
            }
        }
    }
}

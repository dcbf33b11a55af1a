import BillSyncCore
import Foundation

/// Invoice pages committed with the walk position after them; lines, history, provisional keys.
extension BillingStore {
    public func knownInvoices(source: String, ids: [String]) throws -> [String: KnownInvoice] {
        guard !ids.isEmpty else { return [:] }
        return try pool.read { db in
            var out: [String: KnownInvoice] = [:]
            let statement = try db.cachedStatement(
                sql: """
                    SELECT status, provider_status, total, credits_applied, has_lines FROM invoices WHERE source = ? AND invoice_id = ?
                    """)
            for id in ids {
                if let row = try Row.fetchOne(statement, arguments: [source, Self.bind(id)]) {
                    out[id] = KnownInvoice(
                        state: InvoiceState(
                            status: row[0], providerStatus: Self.text(row, 1),
                            total: row[2] as String, creditsApplied: row[3] as String),
                        hasLines: row[4])
                }
            }
            return out
        }
    }

    /// Ids of the source's invoices still owed (open or failed) or listed without any status, to
    /// be re-read until paid. An unknown status the provider did send is kept raw and not chased;
    /// `reset` re-reads everything.
    public func nonFinalInvoiceIDs(source: String) throws -> [String] {
        try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT invoice_id FROM invoices
                    WHERE source = ? AND (status IN ('open', 'failed') OR (status = 'unknown' AND provider_status = ''))
                    ORDER BY invoice_id
                    """,
                arguments: [source]
            ).map { Self.text($0, 0) }
        }
    }

    /// Upserts a page of invoices (with their lines when given) and moves the walk, in one
    /// transaction. `syncDay` is the payment date for invoices seen to turn paid now.
    @discardableResult
    public func commitInvoicePage(
        source: String, provider: String, invoices: [Invoice], position: WalkPosition?,
        seenAt: Int64, syncDay: Int64
    ) throws -> PageOutcome {
        let encoded = invoices.map { EncodedInvoice($0, source: source, provider: provider, seenAt: seenAt) }
        return try pool.write { db in
            try Self.commitInvoicePage(
                db, source: source, provider: provider, invoices: encoded, position: position, seenAt: seenAt,
                syncDay: syncDay)
        }
    }

    /// ``commitInvoicePage(source:provider:invoices:position:seenAt:syncDay:)`` on the store's
    /// commit queue, for invoice details committed while the next ones are fetched. The rows
    /// are put in their bound form here, on the caller's thread (``EncodedInvoice``).
    public func commitInvoicePageLater(
        source: String, provider: String, invoices: [Invoice], position: WalkPosition?,
        seenAt: Int64, syncDay: Int64
    ) -> PendingCommit<PageOutcome> {
        let encoded = invoices.map { EncodedInvoice($0, source: source, provider: provider, seenAt: seenAt) }
        return pool.writeLater { db in
            try Self.commitInvoicePage(
                db, source: source, provider: provider, invoices: encoded, position: position, seenAt: seenAt,
                syncDay: syncDay)
        }
    }

    static func commitInvoicePage(
        _ db: Database, source: String, provider: String, invoices: [EncodedInvoice], position: WalkPosition?,
        seenAt: Int64, syncDay: Int64
    ) throws -> PageOutcome {
        try Self.ensureState(db, source: source, provider: provider)
        var outcome = PageOutcome()
        var wrote = false
        for invoice in invoices {
            if try Self.upsert(db, invoice, source: source, seenAt: seenAt, syncDay: syncDay, outcome: &outcome) {
                wrote = true
            }
        }
        if wrote { try markDirty(db, "invoices") }
        switch position {
        case .next(let cursor)?:
            try db.execute(
                sql: "UPDATE source_state SET walk_active = 1, walk_cursor = ? WHERE source = ?",
                arguments: [cursor, source])
        case .finished(let reachedEnd)?:
            try db.execute(
                sql: """
                    UPDATE source_state SET walk_active = 0, walk_cursor = NULL,
                        walk_full = CASE WHEN ? THEN 0 ELSE walk_full END WHERE source = ?
                    """, arguments: [reachedEnd, source])
        case nil:
            break
        }
        return outcome
    }

    /// Moves an invoice stored under its provisional key (listed without an id) to the real id
    /// it now comes with, lines and history included, unless the real id is stored already
    /// (then the provisional copy goes). Exports are marked, since the id is in every file.
    static func identify(_ db: Database, source: String, provisional: String, id: String, outcome: inout PageOutcome)
        throws
    {
        guard
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT 1 FROM invoices WHERE source = ? AND invoice_id = ?"),
                arguments: [source, provisional]) != nil
        else { return }
        let realExists =
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT 1 FROM invoices WHERE source = ? AND invoice_id = ?"),
                arguments: [source, Self.bind(id)]) != nil
        for table in ["invoices", "line_items", "invoice_history"] {
            if realExists {
                try db.execute(
                    sql: "DELETE FROM \(table) WHERE source = ? AND invoice_id = ?", arguments: [source, provisional])
            } else {
                try db.execute(
                    sql: "UPDATE \(table) SET invoice_id = ? WHERE source = ? AND invoice_id = ?",
                    arguments: [Self.bind(id), source, provisional])
            }
        }
        try markDirty(db, "invoices")
        outcome.identified.append((provisional, id))
    }

    /// Stores one invoice, its lines (when it comes with them and they differ) and a history
    /// row when it is new or its state changed. Returns whether anything an export shows changed.
    static func upsert(
        _ db: Database, _ encoded: EncodedInvoice, source: String, seenAt: Int64, syncDay: Int64,
        outcome: inout PageOutcome
    ) throws -> Bool {
        let invoice = encoded.invoice
        if let provisional = invoice.provisionalID, provisional != invoice.id {
            try identify(db, source: source, provisional: provisional, id: invoice.id, outcome: &outcome)
        }
        let old = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT status, provider_status, total, credits_applied, paid_on, has_lines, fallbacks
                    FROM invoices WHERE source = ? AND invoice_id = ?
                    """), arguments: [source, Self.bind(invoice.id)])
        if !invoice.fallbacks.isEmpty, old.map({ Self.text($0, 6) }) != invoice.fallbacks.joined(separator: ",") {
            outcome.incomplete.append((invoice.id, invoice.fallbacks))
        }
        // Lines are stored only for an invoice whose row says so (a list page brings none).
        let hadLines = old.map { ($0[5] as Int64) != 0 } ?? false
        var paidOn: Int64?
        var change: String?
        if let old {
            let oldStatus: String = old[0]
            let wasPaid = oldStatus == InvoiceStatus.paid.rawValue
            if invoice.status == .paid { paidOn = wasPaid ? old[4] : syncDay }
            let stored = InvoiceState(
                status: oldStatus, providerStatus: Self.text(old, 1), total: old[2] as String,
                creditsApplied: old[3] as String)
            if stored != invoice.state {
                change = "changed"
                outcome.changed += 1
            }
        } else {
            paidOn = invoice.status == .paid ? invoice.issuedOn : nil
            change = "created"
            outcome.new += 1
        }
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO invoices (source, invoice_id, provider, invoice_number, status, provider_status, currency,
                    period_start, period_end, issued_on, paid_on, subtotal, total, credits_applied, url, has_lines,
                    first_seen_at, updated_at, fallbacks)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (source, invoice_id) DO UPDATE SET
                    invoice_number = excluded.invoice_number, status = excluded.status,
                    provider_status = excluded.provider_status, currency = excluded.currency,
                    period_start = excluded.period_start, period_end = excluded.period_end, issued_on = excluded.issued_on,
                    paid_on = excluded.paid_on, subtotal = excluded.subtotal, total = excluded.total,
                    credits_applied = excluded.credits_applied, url = excluded.url,
                    has_lines = MAX(has_lines, excluded.has_lines), updated_at = excluded.updated_at,
                    fallbacks = excluded.fallbacks
                """)
        upsert.reset()
        encoded.row.bind(0..<1, to: upsert, in: db) { _, column in
            column == EncodedInvoice.paidOnColumn ? nil : Int32(column + 1)
        }
        _ = paidOn.bind(upsert.sqliteStatement, Int32(EncodedInvoice.paidOnColumn + 1))
        defer { upsert.reset() }
        try upsert.runToDone()
        var lines = encoded.lines
        if let new = invoice.lineItems, change == nil, hadLines,
            try storedLines(db, source: source, id: invoice.id) == new
        {
            lines = nil  // the same lines again: nothing to write, nothing to export
        }
        if let lines {
            if hadLines {  // otherwise there are none to replace
                try db.cachedStatement(sql: "DELETE FROM line_items WHERE source = ? AND invoice_id = ?").execute(
                    arguments: [source, Self.bind(invoice.id)])
            }
            try insertLines(db, lines, source: source, id: invoice.id)
        }
        if let change {
            let history = try db.cachedStatement(
                sql: """
                    INSERT INTO invoice_history (source, invoice_id, seen_at, change, status, provider_status, total, credits_applied)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                    """)
            history.reset()
            // From the invoice's row: its source, id, status, provider status, total and credits.
            encoded.row.bind(0..<1, to: history, in: db) { _, column in EncodedInvoice.historyParameters[column] }
            history.bind(3, int64: seenAt)
            history.bind(4, text: change)
            defer { history.reset() }
            try history.runToDone()
        }
        return change != nil || lines != nil
    }

    /// At most this many lines go into one insert statement.
    static let linesPerStatement = 16

    /// The inserts of 1, 2, 4, … ``linesPerStatement`` lines (index: the power of two): `?1` is
    /// the source, `?2` the invoice id, then each line's ``EncodedInvoice/lineWidth`` values.
    static let lineInsertSQL: [String] = (0...4).map { power in
        let values = (0..<(1 << power)).map { row in
            "(?1, ?2, "
                + (0..<EncodedInvoice.lineWidth).map { "?\(3 + EncodedInvoice.lineWidth * row + $0)" }
                .joined(separator: ", ") + ")"
        }
        return """
            INSERT INTO line_items (source, invoice_id, line_no, line_type, category, description, quantity, unit,
                unit_price, amount, resource_id, attributes) VALUES \(values.joined(separator: ", "))
            """
    }

    /// An invoice's lines, in order, up to ``linesPerStatement`` a statement.
    static func insertLines(_ db: Database, _ lines: ParameterRows, source: String, id: String) throws {
        var first = 0
        while first < lines.count {
            let run = min(lines.count - first, linesPerStatement)
            let power = Int.bitWidth - 1 - run.leadingZeroBitCount  // the largest power of two <= run
            let statement = try db.cachedStatement(key: "#line-insert-\(power)") { lineInsertSQL[power] }
            statement.reset()
            statement.bind(1, text: source)
            _ = Self.bind(id).bind(statement.sqliteStatement, 2)
            lines.bind(first..<first + 1 << power, to: statement, in: db) { row, column in
                Int32(3 + EncodedInvoice.lineWidth * row + column)
            }
            defer { statement.reset() }
            try statement.runToDone()
            first += 1 << power
        }
    }

    public struct HistoryRow: Sendable, Equatable {
        public var seenAt: Int64
        public var change: String
        public var status: String
        public var total: String
    }

    public func history(source: String, invoiceID: String) throws -> [HistoryRow] {
        try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT seen_at, change, status, total FROM invoice_history WHERE source = ? AND invoice_id = ? ORDER BY id
                    """, arguments: [source, Self.bind(invoiceID)]
            ).map { HistoryRow(seenAt: $0[0], change: $0[1], status: $0[2], total: $0[3]) }
        }
    }

    static func storedLines(_ db: Database, source: String, id: String) throws -> [LineItem] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT line_no, line_type, category, description, quantity, unit, unit_price, amount, resource_id, attributes
                    FROM line_items WHERE source = ? AND invoice_id = ? ORDER BY line_no
                    """), arguments: [source, bind(id)]
        ).map { r in
            LineItem(
                lineNo: r[0], lineType: text(r, 1), category: LineCategory(rawValue: r[2]) ?? .usage,
                description: text(r, 3),
                quantity: try (r[4] as String?).map { try ExactDecimal(parsing: $0) }, unit: text(r, 5),
                unitPrice: try (r[6] as String?).map { try ExactDecimal(parsing: $0) },
                amount: try ExactDecimal(parsing: r[7] as String), resourceID: text(r, 8), attributes: text(r, 9))
        }
    }
}

/// An invoice with its `invoices` row and its lines in their bound form (``ParameterRows``),
/// made on the thread that hands the invoice over, so that the commit thread only binds them.
struct EncodedInvoice: Sendable {
    let invoice: Invoice
    /// The `invoices` row's 19 values in the upsert's order; `paid_on` (``paidOnColumn``) is
    /// left NULL here and bound on the commit thread, from what is stored.
    let row: ParameterRows
    /// ``lineWidth`` values a line (line_no … attributes); nil when the invoice came without lines.
    let lines: ParameterRows?

    static let paidOnColumn = 10
    static let lineWidth = 10
    /// Each value of the row's parameter in the history insert (source, id, 3: seen at, 4:
    /// change, status, provider status, total, credits), or nil.
    static let historyParameters: [Int32?] = [
        1, 2, nil, nil, 5, 6, nil, nil, nil, nil, nil, nil, 7, 8, nil, nil, nil, nil, nil,
    ]

    init(_ invoice: Invoice, source: String, provider: String, seenAt: Int64) {
        self.invoice = invoice
        var row = ParameterRows(width: 19)
        row.append(plain: source)
        row.append(invoice.id)
        row.append(plain: provider)
        row.append(invoice.number)
        row.append(plain: invoice.status.rawValue)
        row.append(invoice.providerStatus)
        row.append(plain: invoice.currency)
        row.append(invoice.periodStart)
        row.append(invoice.periodEnd)
        row.append(invoice.issuedOn)
        row.appendNull()  // paid_on
        row.append(invoice.subtotal, minimumDecimals: 2)
        row.append(invoice.total, minimumDecimals: 2)
        row.append(invoice.creditsApplied, minimumDecimals: 2)
        row.append(invoice.url)
        row.append(invoice.lineItems != nil)
        row.append(seenAt)
        row.append(seenAt)
        row.append(plain: invoice.fallbacks.joined(separator: ","))
        self.row = row
        lines = invoice.lineItems.map { items in
            var lines = ParameterRows(width: Self.lineWidth, rows: items.count)
            for line in items {
                lines.append(line.lineNo)
                lines.append(line.lineType)
                lines.append(plain: line.category.rawValue)
                lines.append(line.description)
                lines.append(line.quantity, minimumDecimals: 0)
                lines.append(line.unit)
                lines.append(line.unitPrice, minimumDecimals: 2)
                lines.append(line.amount, minimumDecimals: 2)
                lines.append(line.resourceID)
                lines.append(line.attributes)
            }
            return lines
        }
    }
}

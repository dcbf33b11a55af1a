import BillSyncCore
import CSQLite
import Foundation

public struct StoreError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ text: String) { description = text }
}

/// An invoice as stored, with what billsync adds to it.
public struct StoredInvoice: Sendable {
    public var source: String
    public var provider: String
    public var invoice: Invoice
    public var paidOn: Int64?
}

/// The SQLite file that holds everything billsync knows and where each sync stands.
///
/// Guarantees: each `commit…Page` call is one transaction holding a page's rows and the
/// position that follows them, so a crash at any point leaves either both or neither.
/// WAL mode; safe to use from several threads (writes are serialized).
public final class BillingStore: Sendable {
    let pool: DatabasePool
    public let path: String

    public init(path: String) throws {
        self.path = path
        do {
            pool = try DatabasePool(path: path) { db in
                sqlite3_busy_timeout(db.sqliteConnection, 30_000)
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                // 512 KiB of page cache per connection instead of SQLite's 2 MB: a page run's
                // upserts touch a few leaf pages at the end of each source's range, and the
                // exports read in key order, so a bigger cache buys no speed, only memory.
                try db.execute(sql: "PRAGMA cache_size = -512")
            }
            let migrated = try Schema.migrator.migrate(pool)
            // Converting a store's usage (v5) leaves the old table's pages free inside the file:
            // given back once, so that the file is the size of what it holds. Best effort: it
            // needs room for a copy of the file, and a store with free pages works all the same.
            if migrated.contains("v5-usage-amounts-as-integers") && !migrated.contains("v1-sources-invoices-usage") {
                try? pool.vacuum()
            }
        } catch {
            throw StoreError("cannot open the state database \(path): \(error)")
        }
    }

    /// Frees SQLite's caches and closes idle reader connections (between polls).
    public func releaseMemory() {
        pool.releaseMemory()
    }

    static func bindText(_ stmt: OpaquePointer?, _ index: Int32, _ text: String) {
        guard let stmt else { return }
        _ = text.bind(stmt, index)
    }

    // MARK: - Usage amounts

    /// Usage amounts are stored as an INTEGER count of `10^-8` (`3.32102287` → `332102287`)
    /// when they have at most this many decimals and fit 64 bits, and as their canonical
    /// decimal text otherwise; both read back as the same exact amount (``RawRow/amount(_:_:)``).
    /// An hourly amount is four bytes instead of ten, and nothing is formatted on the commit path.
    static let usageAmountDecimals = 8

    /// Binds a usage amount as ``usageAmountDecimals`` says; `scratch` holds the text form (48
    /// bytes), bound in place: it must outlive the statement's use of the binding.
    static func bindUsageAmount(_ stmt: OpaquePointer?, _ index: Int32, _ amount: ExactDecimal, scratch: UnsafeMutablePointer<UInt8>) {
        if let units = amount.integer(decimals: usageAmountDecimals) {
            sqlite3_bind_int64(stmt, index, units)
            return
        }
        let n = amount.write(minimumDecimals: 2, into: scratch)
        scratch.withMemoryRebound(to: CChar.self, capacity: n) { chars in
            _ = sqlite3_bind_text(stmt, index, chars, Int32(n), nil)
        }
    }

    // MARK: - Provider text

    /// Provider text goes in as TEXT, or as a UTF-8 BLOB when it holds a NUL (which SQLite's
    /// C-string text binding would cut off), so that every string is stored exactly.
    static func bind(_ text: String) -> any SQLArgument {
        var text = text
        let hasNUL = text.withUTF8 { bytes in bytes.count > 0 && memchr(bytes.baseAddress!, 0, bytes.count) != nil }
        return hasNUL ? SQLBlob(bytes: Array(text.utf8)) : text
    }

    /// Reads a column written by ``bind(_:)``.
    static func text(_ row: Row, _ index: Int) -> String {
        switch row.values[index] {
        case .text(let s): return s
        case .blob(let bytes): return String(decoding: bytes, as: UTF8.self)
        default: return ""
        }
    }

    struct InvoiceKey: Hashable {
        var source: String
        var id: String
    }

    // MARK: - Source state

    public func state(source: String, provider: String) throws -> SourceState {
        try pool.read { db in try Self.loadState(db, source: source) } ?? SourceState(source: source, provider: provider)
    }

    public func allStates() throws -> [SourceState] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT source FROM source_state ORDER BY source").compactMap { row in
                try Self.loadState(db, source: row["source"])
            }
        }
    }

    static func loadState(_ db: Database, source: String) throws -> SourceState? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM source_state WHERE source = ?", arguments: [source]) else { return nil }
        var s = SourceState(source: source, provider: row["provider"])
        s.walkActive = row["walk_active"]
        s.walkCursor = row["walk_cursor"]
        s.walkFull = row["walk_full"]
        s.usageStart = row["usage_start"]
        s.usageDoneUntil = row["usage_done_until"]
        if let start: Int64 = row["usage_window_start"], let end: Int64 = row["usage_window_end"] {
            s.usageWindow = UsageWindow(start: start, end: end, cursor: row["usage_window_cursor"])
        }
        s.lastAttemptAt = row["last_attempt_at"]
        s.lastSuccessAt = row["last_success_at"]
        s.lastError = row["last_error"]
        s.lastErrorAt = row["last_error_at"]
        s.lastSyncRequests = row["last_sync_requests"]
        s.requestsTotal = row["requests_total"]
        return s
    }

    static func ensureState(_ db: Database, source: String, provider: String) throws {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO source_state (source, provider) VALUES (?, ?)")
            .execute(arguments: [source, provider])
    }

    /// Fixes the first usage hour the first time a source syncs, so that later syncs agree.
    public func setUsageStart(source: String, provider: String, start: Int64) throws {
        try pool.write { db in
            try Self.ensureState(db, source: source, provider: provider)
            try db.execute(sql: "UPDATE source_state SET usage_start = ? WHERE source = ?", arguments: [start, source])
        }
    }

    public func recordAttempt(source: String, provider: String, at: Int64) throws {
        try pool.write { db in
            try Self.ensureState(db, source: source, provider: provider)
            try db.execute(sql: "UPDATE source_state SET last_attempt_at = ? WHERE source = ?", arguments: [at, source])
        }
    }

    /// Ends a sync: success clears the last error; failure records it; a sync stopped before
    /// it completed (`completed` false) only adds its requests. Requests are added up.
    public func recordResult(source: String, provider: String, at: Int64, error: String?, requests: Int, completed: Bool = true) throws {
        try pool.write { db in
            try Self.ensureState(db, source: source, provider: provider)
            if !completed && error == nil {
                try db.execute(sql: """
                    UPDATE source_state SET last_sync_requests = ?, requests_total = requests_total + ? WHERE source = ?
                    """, arguments: [requests, requests, source])
            } else if let error {
                try db.execute(sql: """
                    UPDATE source_state SET last_error = ?, last_error_at = ?, last_sync_requests = ?,
                        requests_total = requests_total + ? WHERE source = ?
                    """, arguments: [error, at, requests, requests, source])
            } else {
                try db.execute(sql: """
                    UPDATE source_state SET last_success_at = ?, last_error = NULL, last_error_at = NULL,
                        last_sync_requests = ?, requests_total = requests_total + ? WHERE source = ?
                    """, arguments: [at, requests, requests, source])
            }
        }
    }

    /// Rewinds a source: the next invoice walk reads the whole list, and usage is re-read
    /// from `usageFrom` (or from its start). Data is kept and upserted.
    public func reset(source: String, provider: String, usageFrom: Int64?) throws {
        try pool.write { db in
            try Self.ensureState(db, source: source, provider: provider)
            try db.execute(sql: """
                UPDATE source_state SET walk_active = 0, walk_cursor = NULL, walk_full = 1,
                    usage_done_until = ?, usage_window_start = NULL, usage_window_end = NULL, usage_window_cursor = NULL
                WHERE source = ?
                """, arguments: [usageFrom, source])
        }
    }

    // MARK: - Invoices

    public func knownInvoices(source: String, ids: [String]) throws -> [String: KnownInvoice] {
        guard !ids.isEmpty else { return [:] }
        return try pool.read { db in
            var out: [String: KnownInvoice] = [:]
            let statement = try db.cachedStatement(sql: """
                SELECT status, provider_status, total, credits_applied, has_lines FROM invoices WHERE source = ? AND invoice_id = ?
                """)
            for id in ids {
                if let row = try Row.fetchOne(statement, arguments: [source, Self.bind(id)]) {
                    out[id] = KnownInvoice(state: InvoiceState(status: row[0], providerStatus: Self.text(row, 1),
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
            try Row.fetchAll(db, sql: """
                SELECT invoice_id FROM invoices
                WHERE source = ? AND (status IN ('open', 'failed') OR (status = 'unknown' AND provider_status = ''))
                ORDER BY invoice_id
                """,
                             arguments: [source]).map { Self.text($0, 0) }
        }
    }

    /// Upserts a page of invoices (with their lines when given) and moves the walk, in one
    /// transaction. `syncDay` is the payment date for invoices seen to turn paid now.
    @discardableResult
    public func commitInvoicePage(source: String, provider: String, invoices: [Invoice], position: WalkPosition?,
                                  seenAt: Int64, syncDay: Int64) throws -> PageOutcome {
        try pool.write { db in
            try Self.commitInvoicePage(db, source: source, provider: provider, invoices: invoices, position: position, seenAt: seenAt, syncDay: syncDay)
        }
    }

    /// ``commitInvoicePage(source:provider:invoices:position:seenAt:syncDay:)`` on the store's
    /// commit queue, for invoice details committed while the next ones are fetched.
    public func commitInvoicePageLater(source: String, provider: String, invoices: [Invoice], position: WalkPosition?,
                                       seenAt: Int64, syncDay: Int64) -> PendingCommit<PageOutcome> {
        pool.writeLater { db in
            try Self.commitInvoicePage(db, source: source, provider: provider, invoices: invoices, position: position, seenAt: seenAt, syncDay: syncDay)
        }
    }

    static func commitInvoicePage(_ db: Database, source: String, provider: String, invoices: [Invoice], position: WalkPosition?,
                                  seenAt: Int64, syncDay: Int64) throws -> PageOutcome {
        try Self.ensureState(db, source: source, provider: provider)
        var outcome = PageOutcome()
        for invoice in invoices {
            try Self.upsert(db, invoice, source: source, provider: provider, seenAt: seenAt, syncDay: syncDay, outcome: &outcome)
        }
        switch position {
        case .next(let cursor)?:
            try db.execute(sql: "UPDATE source_state SET walk_active = 1, walk_cursor = ? WHERE source = ?", arguments: [cursor, source])
        case .finished(let reachedEnd)?:
            try db.execute(sql: """
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
    static func identify(_ db: Database, source: String, provisional: String, id: String, outcome: inout PageOutcome) throws {
        guard try Row.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM invoices WHERE source = ? AND invoice_id = ?"),
                               arguments: [source, provisional]) != nil else { return }
        let realExists = try Row.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM invoices WHERE source = ? AND invoice_id = ?"),
                                          arguments: [source, Self.bind(id)]) != nil
        for table in ["invoices", "line_items", "invoice_history"] {
            if realExists {
                try db.execute(sql: "DELETE FROM \(table) WHERE source = ? AND invoice_id = ?", arguments: [source, provisional])
            } else {
                try db.execute(sql: "UPDATE \(table) SET invoice_id = ? WHERE source = ? AND invoice_id = ?",
                               arguments: [Self.bind(id), source, provisional])
            }
        }
        try markDirty(db, "invoices")
        outcome.identified.append((provisional, id))
    }

    static func upsert(_ db: Database, _ invoice: Invoice, source: String, provider: String, seenAt: Int64, syncDay: Int64,
                       outcome: inout PageOutcome) throws {
        if let provisional = invoice.provisionalID, provisional != invoice.id {
            try identify(db, source: source, provisional: provisional, id: invoice.id, outcome: &outcome)
        }
        let old = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT status, provider_status, total, credits_applied, paid_on, has_lines, fallbacks
            FROM invoices WHERE source = ? AND invoice_id = ?
            """), arguments: [source, Self.bind(invoice.id)])
        let fallbacks = invoice.fallbacks.joined(separator: ",")
        if !fallbacks.isEmpty, old.map({ Self.text($0, 6) }) != fallbacks {
            outcome.incomplete.append((invoice.id, invoice.fallbacks))
        }
        // Lines are stored only for an invoice whose row says so (a list page brings none).
        let hadLines = old.map { ($0[5] as Int64) != 0 } ?? false
        let total = invoice.total.description
        let credits = invoice.creditsApplied.description
        var paidOn: Int64?
        var change: String?
        if let old {
            let oldStatus: String = old[0]
            let wasPaid = oldStatus == InvoiceStatus.paid.rawValue
            if invoice.status == .paid { paidOn = wasPaid ? old[4] : syncDay }
            let stored = InvoiceState(status: oldStatus, providerStatus: Self.text(old, 1), total: old[2] as String,
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
        let hasLines = invoice.lineItems != nil
        try db.cachedStatement(sql: """
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
            """).execute(arguments: [
                source, Self.bind(invoice.id), provider, Self.bind(invoice.number), invoice.status.rawValue,
                Self.bind(invoice.providerStatus), invoice.currency,
                invoice.periodStart, invoice.periodEnd, invoice.issuedOn, paidOn, invoice.subtotal?.description, total,
                credits, Self.bind(invoice.url), hasLines, seenAt, seenAt, fallbacks,
            ])
        var lines = invoice.lineItems
        if let new = lines, change == nil, hadLines, try storedLines(db, source: source, id: invoice.id) == new {
            lines = nil  // the same lines again: nothing to write, nothing to export
        }
        if change != nil || lines != nil { try markDirty(db, "invoices") }
        if let lines {
            if hadLines {   // otherwise there are none to replace
                try db.cachedStatement(sql: "DELETE FROM line_items WHERE source = ? AND invoice_id = ?").execute(arguments: [source, Self.bind(invoice.id)])
            }
            let insert = try db.cachedStatement(sql: """
                INSERT INTO line_items (source, invoice_id, line_no, line_type, category, description, quantity, unit,
                    unit_price, amount, resource_id, attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for line in lines {
                try insert.execute(arguments: [
                    source, Self.bind(invoice.id), line.lineNo, Self.bind(line.lineType), line.category.rawValue,
                    Self.bind(line.description), line.quantity?.formatted(minimumDecimals: 0), Self.bind(line.unit),
                    line.unitPrice?.description, line.amount.description, Self.bind(line.resourceID), Self.bind(line.attributes),
                ])
            }
        }
        if let change {
            try db.cachedStatement(sql: """
                INSERT INTO invoice_history (source, invoice_id, seen_at, change, status, provider_status, total, credits_applied)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [source, Self.bind(invoice.id), seenAt, change, invoice.status.rawValue,
                                         Self.bind(invoice.providerStatus), total, credits])
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
            try Row.fetchAll(db, sql: """
                SELECT seen_at, change, status, total FROM invoice_history WHERE source = ? AND invoice_id = ? ORDER BY id
                """, arguments: [source, Self.bind(invoiceID)]).map { HistoryRow(seenAt: $0[0], change: $0[1], status: $0[2], total: $0[3]) }
        }
    }

    // MARK: - Usage

    /// Upserts a page of hours and moves the usage position, in one transaction.
    public func commitUsagePage(source: String, provider: String, hours: [UsageHour], position: UsagePosition) throws {
        try pool.write { db in try Self.commitUsagePage(db, source: source, provider: provider, hours: hours, position: position) }
    }

    /// ``commitUsagePage(source:provider:hours:position:)`` on the store's commit queue: returns
    /// at once, so that the next page can be fetched while this one commits. Commits run in
    /// the order they are handed over.
    public func commitUsagePageLater(source: String, provider: String, hours: [UsageHour], position: UsagePosition) -> PendingCommit<Void> {
        pool.writeLater { db in try Self.commitUsagePage(db, source: source, provider: provider, hours: hours, position: position) }
    }

    static func commitUsagePage(_ db: Database, source: String, provider: String, hours: [UsageHour], position: UsagePosition) throws {
        try Self.ensureState(db, source: source, provider: provider)
        // An hour read again with the same values is left alone, so that the lookback's
        // re-reads mark nothing for export.
        let insert = try db.cachedStatement(sql: """
            INSERT INTO usage_hours (source, hour_start, currency, paas_total, cpu, memory, storage, gpu,
                byoc_total, byoc_vcpu, byoc_memory, byoc_gpu_memory, byoc_cluster, total)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (source, hour_start) DO UPDATE SET currency = excluded.currency, total = excluded.total,
                paas_total = excluded.paas_total, cpu = excluded.cpu, memory = excluded.memory,
                storage = excluded.storage, gpu = excluded.gpu, byoc_total = excluded.byoc_total,
                byoc_vcpu = excluded.byoc_vcpu, byoc_memory = excluded.byoc_memory,
                byoc_gpu_memory = excluded.byoc_gpu_memory, byoc_cluster = excluded.byoc_cluster
            WHERE currency IS NOT excluded.currency OR paas_total IS NOT excluded.paas_total
                OR cpu IS NOT excluded.cpu OR memory IS NOT excluded.memory OR storage IS NOT excluded.storage
                OR gpu IS NOT excluded.gpu OR byoc_total IS NOT excluded.byoc_total
                OR byoc_vcpu IS NOT excluded.byoc_vcpu OR byoc_memory IS NOT excluded.byoc_memory
                OR byoc_gpu_memory IS NOT excluded.byoc_gpu_memory OR byoc_cluster IS NOT excluded.byoc_cluster
                OR total IS NOT excluded.total
            """)
        var changedMonths: [Int64] = []   // month starts, in the order met
        var lastMonth: (start: Int64, end: Int64) = (0, 0)
        // Bound through the C API (amounts as integers, see ``usageAmountDecimals``, or text from
        // one scratch buffer): this is the hottest loop of a backfill, and argument arrays (and a
        // String per amount) box every value.
        let stmt = insert.sqliteStatement
        let slot = 48
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: slot * 11)
        defer {
            // The amounts are bound in place (SQLITE_STATIC): unbind before the buffer goes.
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
            scratch.deallocate()
        }
        // A binding outlives sqlite3_reset: the source is bound once for the page, the
        // currency again only when a row's differs from the row before.
        sqlite3_reset(stmt)
        Self.bindText(stmt, 1, source)
        var boundCurrency: String?
        for h in hours {
            sqlite3_reset(stmt)
            sqlite3_bind_int64(stmt, 2, h.hourStart)
            if h.currency != boundCurrency {
                Self.bindText(stmt, 3, h.currency)
                boundCurrency = h.currency
            }
            func bindAmount(_ index: Int32, _ slotNo: Int, _ amount: ExactDecimal) {
                Self.bindUsageAmount(stmt, index, amount, scratch: scratch + slot * slotNo)
            }
            bindAmount(4, 0, h.paasTotal)
            bindAmount(5, 1, h.cpu)
            bindAmount(6, 2, h.memory)
            bindAmount(7, 3, h.storage)
            bindAmount(8, 4, h.gpu)
            bindAmount(9, 5, h.byocTotal)
            bindAmount(10, 6, h.byocVCPU)
            bindAmount(11, 7, h.byocMemory)
            bindAmount(12, 8, h.byocGPUMemory)
            bindAmount(13, 9, h.byocCluster)
            bindAmount(14, 10, h.total)
            let rc = sqlite3_step(stmt)
            guard rc == SQLITE_DONE else {
                throw db.error(rc, sql: nil)
            }
            if sqlite3_changes(db.sqliteConnection) > 0, !(h.hourStart >= lastMonth.start && h.hourStart < lastMonth.end) {
                lastMonth = UTC.monthContaining(h.hourStart)
                if !changedMonths.contains(lastMonth.start) { changedMonths.append(lastMonth.start) }
            }
        }
        for month in changedMonths { try Self.markDirty(db, "usage:" + UTC.month(month)) }
        switch position {
        case .inWindow(let w):
            try db.cachedStatement(sql: """
                UPDATE source_state SET usage_window_start = ?, usage_window_end = ?, usage_window_cursor = ? WHERE source = ?
                """).execute(arguments: [w.start, w.end, w.cursor, source])
        case .windowDone(let doneUntil):
            try db.cachedStatement(sql: """
                UPDATE source_state SET usage_window_start = NULL, usage_window_end = NULL, usage_window_cursor = NULL,
                    usage_done_until = MAX(COALESCE(usage_done_until, 0), ?) WHERE source = ?
                """).execute(arguments: [doneUntil, source])
        }
    }

    /// Copies every row of `usage_hours` (amounts as decimal text, total possibly NULL) into
    /// `table`, amounts bound as ``bindUsageAmount(_:_:_:scratch:)`` does and a missing total
    /// filled in. Text that does not read as a decimal is copied unchanged (and a total that
    /// cannot be added up from it stays NULL).
    static func copyUsageHoursAsIntegers(_ db: Database, into table: String) throws {
        let insert = try db.cachedStatement(sql: """
            INSERT INTO \(table) (source, hour_start, currency, paas_total, cpu, memory, storage, gpu,
                byoc_total, byoc_vcpu, byoc_memory, byoc_gpu_memory, byoc_cluster, total)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).sqliteStatement
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: 48 * 12)
        defer {
            sqlite3_reset(insert)
            sqlite3_clear_bindings(insert)
            scratch.deallocate()
        }
        try forEachRawRow(db, """
            SELECT source, hour_start, currency, paas_total, cpu, memory, storage, gpu, byoc_total, byoc_vcpu,
                byoc_memory, byoc_gpu_memory, byoc_cluster, total
            FROM usage_hours ORDER BY source, hour_start
            """, { _ in }) { row in
            sqlite3_reset(insert)
            for column in Int32(0)...2 { _ = sqlite3_bind_value(insert, column + 1, sqlite3_column_value(row.stmt, column)) }
            var amounts: [ExactDecimal?] = []
            for column in Int32(3)...13 {
                let amount = row.isNull(column) ? nil : try? ExactDecimal(parsing: row.string(column))
                amounts.append(amount)
                if let amount {
                    bindUsageAmount(insert, column + 1, amount, scratch: scratch + 48 * Int(column - 3))
                } else {
                    _ = sqlite3_bind_value(insert, column + 1, sqlite3_column_value(row.stmt, column))
                }
            }
            if row.isNull(13), let paas = amounts[0], let byoc = amounts[5] {
                bindUsageAmount(insert, 14, paas + byoc, scratch: scratch + 48 * 11)
            }
            let rc = sqlite3_step(insert)
            guard rc == SQLITE_DONE else { throw db.error(rc, sql: nil) }
        }
    }

    static func storedLines(_ db: Database, source: String, id: String) throws -> [LineItem] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT line_no, line_type, category, description, quantity, unit, unit_price, amount, resource_id, attributes
            FROM line_items WHERE source = ? AND invoice_id = ? ORDER BY line_no
            """), arguments: [source, bind(id)]).map { r in
            LineItem(lineNo: r[0], lineType: text(r, 1), category: LineCategory(rawValue: r[2]) ?? .usage, description: text(r, 3),
                     quantity: try (r[4] as String?).map { try ExactDecimal(parsing: $0) }, unit: text(r, 5),
                     unitPrice: try (r[6] as String?).map { try ExactDecimal(parsing: $0) },
                     amount: try ExactDecimal(parsing: r[7] as String), resourceID: text(r, 8), attributes: text(r, 9))
        }
    }

    // MARK: - What changed since the last export

    static func markDirty(_ db: Database, _ key: String) throws {
        try db.cachedStatement(sql: """
            INSERT INTO export_dirty (key, seq) VALUES (?, 1) ON CONFLICT (key) DO UPDATE SET seq = seq + 1
            """).execute(arguments: [key])
    }

    /// What the store changed since the last export: `invoices`, `usage:YYYY-MM`, each with a
    /// mark count to hand back to ``clearExportMarks(_:)``.
    public func exportMarks() throws -> [String: Int64] {
        try pool.read { db in
            var out: [String: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT key, seq FROM export_dirty") { out[row[0]] = row[1] }
            return out
        }
    }

    /// Clears the marks an export has handled; a mark made meanwhile (a higher count) stays.
    public func clearExportMarks(_ marks: [String: Int64]) throws {
        try pool.write { db in
            for (key, seq) in marks {
                try db.execute(sql: "DELETE FROM export_dirty WHERE key = ? AND seq = ?", arguments: [key, seq])
            }
        }
    }

    public func meta(_ key: String) throws -> String? {
        try pool.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) }
    }

    public func setMeta(_ key: String, _ value: String) throws {
        try pool.write { db in
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                           arguments: [key, value])
        }
    }

    // MARK: - Reading for exports and status

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
            c.invoices = try Int.fetchOne(db, sql: "SELECT count(*) FROM invoices WHERE source = ?", arguments: [source]) ?? 0
            c.openInvoices = try Int.fetchOne(db, sql: "SELECT count(*) FROM invoices WHERE source = ? AND status <> 'paid'", arguments: [source]) ?? 0
            c.lineItems = try Int.fetchOne(db, sql: "SELECT count(*) FROM line_items WHERE source = ?", arguments: [source]) ?? 0
            c.usageHours = try Int.fetchOne(db, sql: "SELECT count(*) FROM usage_hours WHERE source = ?", arguments: [source]) ?? 0
            c.historyRows = try Int.fetchOne(db, sql: "SELECT count(*) FROM invoice_history WHERE source = ?", arguments: [source]) ?? 0
            c.incompleteInvoices = try Int.fetchOne(db, sql: "SELECT count(*) FROM invoices WHERE source = ? AND fallbacks <> ''",
                                                    arguments: [source]) ?? 0
            return c
        }
    }

    /// Every invoice with its lines, ordered by source, issue date, id.
    public func allInvoices() throws -> [StoredInvoice] {
        try pool.read { db in
            var lines: [InvoiceKey: [LineItem]] = [:]
            let lineRows = try Row.fetchCursor(db, sql: """
                SELECT source, invoice_id, line_no, line_type, category, description, quantity, unit, unit_price, amount,
                    resource_id, attributes FROM line_items ORDER BY source, invoice_id, line_no
                """)
            while let r = try lineRows.next() {
                let key = InvoiceKey(source: r[0], id: Self.text(r, 1))
                lines[key, default: []].append(LineItem(
                    lineNo: r[2], lineType: Self.text(r, 3), category: LineCategory(rawValue: r[4]) ?? .usage, description: Self.text(r, 5),
                    quantity: try (r[6] as String?).map { try ExactDecimal(parsing: $0) }, unit: Self.text(r, 7),
                    unitPrice: try (r[8] as String?).map { try ExactDecimal(parsing: $0) }, amount: try ExactDecimal(parsing: r[9] as String),
                    resourceID: Self.text(r, 10), attributes: Self.text(r, 11)))
            }
            var out: [StoredInvoice] = []
            let rows = try Row.fetchCursor(db, sql: """
                SELECT source, provider, invoice_id, invoice_number, status, provider_status, currency, period_start,
                    period_end, issued_on, paid_on, subtotal, total, credits_applied, url
                FROM invoices ORDER BY source, issued_on, invoice_id
                """)
            while let r = try rows.next() {
                let source: String = r[0]
                let id = Self.text(r, 2)
                let invoice = Invoice(
                    id: id, number: Self.text(r, 3), status: InvoiceStatus(rawValue: r[4]) ?? .unknown, providerStatus: Self.text(r, 5),
                    currency: r[6], periodStart: r[7], periodEnd: r[8], issuedOn: r[9],
                    subtotal: try (r[11] as String?).map { try ExactDecimal(parsing: $0) },
                    total: try ExactDecimal(parsing: r[12] as String), creditsApplied: try ExactDecimal(parsing: r[13] as String),
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

    /// Every invoice, ordered by source, issue date, id, without loading them all at once.
    public func forEachInvoiceRow(_ body: (InvoiceRow) throws -> Void) throws {
        var out = InvoiceRow()
        try forEachRawInvoiceRow { r in
            out.source = r.string(0); out.provider = r.string(1); out.id = r.string(2); out.number = r.string(3)
            out.status = r.string(4); out.providerStatus = r.string(5); out.currency = r.string(6)
            out.periodStart = r.int64(7); out.periodEnd = r.int64(8); out.issuedOn = r.int64(9)
            out.paidOn = r.isNull(10) ? nil : r.int64(10)
            out.subtotal = r.isNull(11) ? nil : r.string(11)
            out.total = r.string(12); out.creditsApplied = r.string(13); out.url = r.string(14)
            try body(out)
        }
    }

    /// The journals' view of the store, in journal order, without holding it all: each
    /// invoice on its issue date (`payment` false) with its line items' types and amounts,
    /// and each paid invoice again on its payment date (`payment` true, no lines); ordered by
    /// date, invoices before payments, source, invoice id. SQLite sorts, within its cache.
    public func forEachLedgerEntry(_ body: (_ payment: Bool, _ invoice: InvoiceRow, _ lines: [(lineType: String, amount: String)]) throws -> Void) throws {
        try pool.read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT 0 AS kind, issued_on AS day, source, invoice_id, provider, status, currency, period_start, period_end,
                    issued_on, paid_on, total, credits_applied FROM invoices
                UNION ALL
                SELECT 1, paid_on, source, invoice_id, provider, status, currency, period_start, period_end,
                    issued_on, paid_on, total, credits_applied FROM invoices WHERE status = 'paid' AND paid_on IS NOT NULL
                ORDER BY day, kind, source, invoice_id
                """)
            let linesOf = try db.makeStatement(sql: "SELECT line_type, amount FROM line_items WHERE source = ? AND invoice_id = ? ORDER BY line_no")
            var inv = InvoiceRow()
            while let r = try rows.next() {
                let payment: Int = r[0]
                inv.source = r[2]; inv.id = Self.text(r, 3); inv.provider = r[4]; inv.status = r[5]; inv.currency = r[6]
                inv.periodStart = r[7]; inv.periodEnd = r[8]; inv.issuedOn = r[9]; inv.paidOn = r[10]
                inv.total = r[11]; inv.creditsApplied = r[12]
                var lines: [(lineType: String, amount: String)] = []
                if payment == 0 {
                    let lineRows = try Row.fetchCursor(linesOf, arguments: [inv.source, Self.bind(inv.id)])
                    while let l = try lineRows.next() { lines.append((Self.text(l, 0), l[1])) }
                }
                try body(payment == 1, inv, lines)
            }
        }
    }

    /// One stored line item as text, with its invoice's source, provider and currency.
    public struct LineItemRow {
        public var source = "", provider = "", invoiceID = "", lineNo = 0, lineType = "", category = "", description = ""
        public var quantity: String?, unit = "", unitPrice: String?, amount = "", currency = "", resourceID = "", attributes = ""
    }

    /// Every line item, in the order of ``forEachInvoiceRow(_:)`` then line number.
    public func forEachLineItemRow(_ body: (LineItemRow) throws -> Void) throws {
        var out = LineItemRow()
        try forEachRawLineItemRow { r in
            out.source = r.string(0); out.provider = r.string(1); out.invoiceID = r.string(2); out.lineNo = Int(r.int64(3))
            out.lineType = r.string(4); out.category = r.string(5); out.description = r.string(6)
            out.quantity = r.isNull(7) ? nil : r.string(7); out.unit = r.string(8)
            out.unitPrice = r.isNull(9) ? nil : r.string(9); out.amount = r.string(10); out.currency = r.string(11)
            out.resourceID = r.string(12); out.attributes = r.string(13)
            try body(out)
        }
    }

    /// Every line item with its invoice, ordered by the UTC month the invoice's period starts
    /// in, then as ``forEachLineItemRow(_:)``.
    public func forEachLineByPeriodMonth(_ body: (LineItemRow, InvoiceRow) throws -> Void) throws {
        try pool.read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT l.source, i.provider, l.invoice_id, l.line_no, l.line_type, l.category, l.description, l.quantity,
                    l.unit, l.unit_price, l.amount, i.currency, l.resource_id, l.attributes,
                    i.period_start, i.period_end, i.status, i.issued_on, i.paid_on
                FROM line_items l JOIN invoices i ON i.source = l.source AND i.invoice_id = l.invoice_id
                ORDER BY strftime('%Y-%m', i.period_start, 'unixepoch'), l.source, i.issued_on, l.invoice_id, l.line_no
                """)
            var line = LineItemRow()
            var inv = InvoiceRow()
            while let r = try rows.next() {
                line.source = r[0]; line.provider = r[1]; line.invoiceID = Self.text(r, 2); line.lineNo = r[3]
                line.lineType = Self.text(r, 4); line.category = r[5]; line.description = Self.text(r, 6); line.quantity = r[7]
                line.unit = Self.text(r, 8); line.unitPrice = r[9]; line.amount = r[10]; line.currency = r[11]
                line.resourceID = Self.text(r, 12); line.attributes = Self.text(r, 13)
                inv.source = line.source; inv.provider = line.provider; inv.id = line.invoiceID; inv.currency = line.currency
                inv.periodStart = r[14]; inv.periodEnd = r[15]; inv.status = r[16]; inv.issuedOn = r[17]; inv.paidOn = r[18]
                try body(line, inv)
            }
        }
    }

    /// The UTC months (`YYYY-MM`) that hold usage, oldest first.
    public func usageMonths() throws -> [String] {
        try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT MIN(hour_start), MAX(hour_start) FROM usage_hours"),
                  let low: Int64 = row[0], let high: Int64 = row[1] else { return [] }
            var months: [String] = []
            var c = UTC.civil(low)
            c.day = 1; c.hour = 0; c.minute = 0; c.second = 0
            while UTC.unix(c) <= high {
                months.append(UTC.month(UTC.unix(c)))
                c.month += 1
                if c.month > 12 { c.month = 1; c.year += 1 }
            }
            return months
        }
    }

    /// A row as SQLite hands it over: the bytes are valid only during the call.
    public struct RawRow {
        let stmt: OpaquePointer?

        public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(stmt, column) }

        public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_NULL }

        /// A usage amount column (see ``BillingStore/usageAmountDecimals``) as its canonical
        /// decimal text, written into `buffer` (48 bytes) when stored as an integer; the bytes
        /// are valid until the next call with the same buffer.
        public func amount(_ column: Int32, _ buffer: UnsafeMutablePointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
            guard sqlite3_column_type(stmt, column) == SQLITE_INTEGER else { return bytes(column) }
            return UnsafeBufferPointer(start: buffer, count: Self.writeUnits(sqlite3_column_int64(stmt, column), into: buffer))
        }

        /// `units` × 10^-8 as ``ExactDecimal/formatted(minimumDecimals:)`` writes it with two
        /// decimals at least (`332102287` → `3.32102287`, `10000000` → `0.10`), in 64-bit
        /// arithmetic: the usage CSV writes eleven of these a row. Returns the length (≤ 48).
        static func writeUnits(_ units: Int64, into out: UnsafeMutablePointer<UInt8>) -> Int {
            var n = 0
            if units < 0 {
                out[0] = UInt8(ascii: "-")
                n = 1
            }
            let magnitude = units.magnitude
            var whole = magnitude / 100_000_000
            var fraction = UInt32(truncatingIfNeeded: magnitude % 100_000_000)
            if whole < 10 {
                out[n] = 48 + UInt8(whole)   // nearly every hourly amount
                n += 1
            } else {
                // The whole part, backwards into the end of the buffer, then moved up.
                var i = 48
                repeat {
                    i -= 1
                    out[i] = 48 + UInt8(whole % 10)
                    whole /= 10
                } while whole > 0
                while i < 48 {
                    out[n] = out[i]
                    n += 1
                    i += 1
                }
            }
            out[n] = UInt8(ascii: ".")
            n += 1
            // Eight decimals, then the trailing zeros past the second dropped; written two
            // digits at a time.
            var digits = 8
            while digits > 2 && fraction % 10 == 0 {
                fraction /= 10
                digits -= 1
            }
            var k = digits
            while k >= 2 {
                let pair = Int(fraction % 100) * 2
                fraction /= 100
                k -= 2
                out[n + k] = Self.digitPairs[pair]
                out[n + k + 1] = Self.digitPairs[pair + 1]
            }
            if k == 1 { out[n] = 48 + UInt8(fraction % 10) }
            return n + digits
        }

        /// "00" through "99", two bytes each.
        private static let digitPairs: [UInt8] = {
            var pairs: [UInt8] = []
            for value in 0..<100 {
                pairs.append(UInt8(48 + value / 10))
                pairs.append(UInt8(48 + value % 10))
            }
            return pairs
        }()

        /// Room ``writeAmount(_:into:)`` needs for the column.
        public func amountCapacity(_ column: Int32) -> Int {
            sqlite3_column_type(stmt, column) == SQLITE_INTEGER ? 48 : Int(sqlite3_column_bytes(stmt, column))
        }

        /// ``amount(_:_:)`` written into `out` (room for ``amountCapacity(_:)``); returns the length.
        public func writeAmount(_ column: Int32, into out: UnsafeMutablePointer<UInt8>) -> Int {
            let text = amount(column, out)   // already in `out` when stored as an integer
            if let base = text.baseAddress, base != UnsafePointer(out) { out.update(from: base, count: text.count) }
            return text.count
        }

        /// The column as a string (TEXT or a UTF-8 BLOB alike, see ``bind(_:)``).
        public func string(_ column: Int32) -> String { String(decoding: bytes(column), as: UTF8.self) }

        public func bytes(_ column: Int32) -> UnsafeBufferPointer<UInt8> {
            let count = Int(sqlite3_column_bytes(stmt, column))
            guard let p = sqlite3_column_text(stmt, column), count > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
            return UnsafeBufferPointer(start: p, count: count)
        }
    }

    /// Steps a query and hands each row over as raw SQLite values.
    func forEachRawRow(_ sql: String, _ bind: (OpaquePointer?) -> Void, _ body: (RawRow) throws -> Void) throws {
        try pool.read { db in try Self.forEachRawRow(db, sql, bind, body) }
    }

    static func forEachRawRow(_ db: Database, _ sql: String, _ bind: (OpaquePointer?) -> Void, _ body: (RawRow) throws -> Void) throws {
        let statement = try db.cachedStatement(sql: sql)
        let stmt = statement.sqliteStatement
        sqlite3_reset(stmt)
        defer { sqlite3_reset(stmt) }
        bind(stmt)
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else {
                throw db.error(rc, sql: nil)
            }
            try body(RawRow(stmt: stmt))
        }
    }

    /// Each stored hour in `[start, end)`, ordered by source then hour, without any Swift string
    /// per cell, for exports. Columns: 0 source, 1 provider, 2 hour_start, 3 currency, 4–13
    /// paas_total, cpu, memory, storage, gpu, byoc_total, byoc_vcpu, byoc_memory,
    /// byoc_gpu_memory, byoc_cluster, 14 total (amounts: read them with ``RawRow/amount(_:_:)``).
    ///
    /// One range search per source (found by seeking past the previous one), never a scan of
    /// the whole table: a month's file reads only that month's rows.
    public func forEachRawUsageRow(from start: Int64, to end: Int64, _ body: (RawRow) throws -> Void) throws {
        try pool.read { db in
            var previous = ""
            while true {
                var next: String? = nil
                try Self.forEachRawRow(db, "SELECT MIN(source) FROM usage_hours WHERE source > ?", { stmt in
                    Self.bindText(stmt, 1, previous)
                }) { row in
                    if !row.isNull(0) { next = row.string(0) }
                }
                guard let source = next else { return }
                // The source's provider once, handed back in every row as a bound value, rather
                // than a join that looks it up again for each of a month's hours.
                var provider = ""
                try Self.forEachRawRow(db, "SELECT provider FROM source_state WHERE source = ?", { stmt in
                    Self.bindText(stmt, 1, source)
                }) { row in provider = row.string(0) }
                try Self.forEachRawRow(db, """
                    SELECT source, ?4, hour_start, currency, paas_total, cpu, memory, storage, gpu, byoc_total,
                        byoc_vcpu, byoc_memory, byoc_gpu_memory, byoc_cluster, total
                    FROM usage_hours WHERE source = ?1 AND hour_start >= ?2 AND hour_start < ?3 ORDER BY hour_start
                    """, { stmt in
                        Self.bindText(stmt, 1, source)
                        sqlite3_bind_int64(stmt, 2, start)
                        sqlite3_bind_int64(stmt, 3, end)
                        Self.bindText(stmt, 4, provider)
                    }, body)
                previous = source
            }
        }
    }

    /// Every invoice as raw values, in the order of ``forEachInvoiceRow(_:)``. Columns: 0 source,
    /// 1 provider, 2 invoice_id, 3 invoice_number, 4 status, 5 provider_status, 6 currency,
    /// 7 period_start, 8 period_end, 9 issued_on, 10 paid_on, 11 subtotal, 12 total,
    /// 13 credits_applied, 14 url.
    public func forEachRawInvoiceRow(_ body: (RawRow) throws -> Void) throws {
        try forEachRawRow("""
            SELECT source, provider, invoice_id, invoice_number, status, provider_status, currency, period_start,
                period_end, issued_on, paid_on, subtotal, total, credits_applied, url
            FROM invoices ORDER BY source, issued_on, invoice_id
            """, { _ in }, body)
    }

    /// Every line item as raw values, in the order of ``forEachLineItemRow(_:)``. Columns as
    /// ``LineItemRow``: 0 source, 1 provider, 2 invoice_id, 3 line_no, 4 line_type, 5 category,
    /// 6 description, 7 quantity, 8 unit, 9 unit_price, 10 amount, 11 currency, 12 resource_id,
    /// 13 attributes.
    public func forEachRawLineItemRow(_ body: (RawRow) throws -> Void) throws {
        try forEachRawRow("""
            SELECT l.source, i.provider, l.invoice_id, l.line_no, l.line_type, l.category, l.description, l.quantity,
                l.unit, l.unit_price, l.amount, i.currency, l.resource_id, l.attributes
            FROM line_items l JOIN invoices i ON i.source = l.source AND i.invoice_id = l.invoice_id
            ORDER BY l.source, i.issued_on, l.invoice_id, l.line_no
            """, { _ in }, body)
    }
}

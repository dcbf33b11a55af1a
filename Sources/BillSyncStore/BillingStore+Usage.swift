import BillSyncCore
import CSQLite
import Foundation

/// Usage pages committed with the window position after them: the hottest loop of a backfill.
extension BillingStore {
    /// Upserts a page of hours and moves the usage position, in one transaction.
    public func commitUsagePage(source: String, provider: String, hours: [UsageHour], position: UsagePosition) throws {
        let rows = UsageRows(hours)
        try pool.write { db in
            try Self.commitUsagePage(db, source: source, provider: provider, rows: rows, position: position)
        }
    }

    /// ``commitUsagePage(source:provider:hours:position:)`` on the store's commit queue: returns
    /// at once, so that the next page can be fetched while this one commits. Commits run in
    /// the order they are handed over. The amounts are put in their stored form here, on the
    /// caller's thread, so that the one commit thread every page passes only binds and steps.
    public func commitUsagePageLater(source: String, provider: String, hours: [UsageHour], position: UsagePosition)
        -> PendingCommit<Void>
    {
        let rows = UsageRows(hours)
        return pool.writeLater { db in
            try Self.commitUsagePage(db, source: source, provider: provider, rows: rows, position: position)
        }
    }

    /// A page of hours with their amounts in the form they are stored in (see
    /// ``usageAmountDecimals``): per row 11 values, each an integer count of 10^-8 or, where
    /// its bit in `blobColumns` is set, `offset << 8 | length` of its BLOB form in `blobs`.
    struct UsageRows: Sendable {
        var hourStarts: [Int64] = []
        var currencies: [String] = []
        var values: [Int64] = []
        var blobColumns: [UInt16] = []
        var blobs: [UInt8] = []

        init(_ hours: [UsageHour]) {
            hourStarts.reserveCapacity(hours.count)
            currencies.reserveCapacity(hours.count)
            values.reserveCapacity(11 * hours.count)
            blobColumns.reserveCapacity(hours.count)
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: UsageAmountBlob.capacity) { buffer in
                for h in hours {
                    hourStarts.append(h.hourStart)
                    currencies.append(h.currency)
                    var mask: UInt16 = 0
                    func add(_ column: Int, _ amount: ExactDecimal) {
                        var count = 0
                        if let units = BillingStore.storedUsageUnits(
                            amount, blob: buffer.baseAddress!, blobCount: &count)
                        {
                            values.append(units)
                            return
                        }
                        values.append(Int64(blobs.count) << 8 | Int64(count))
                        blobs.append(contentsOf: UnsafeBufferPointer(start: buffer.baseAddress!, count: count))
                        mask |= 1 << column
                    }
                    add(0, h.paasTotal)
                    add(1, h.cpu)
                    add(2, h.memory)
                    add(3, h.storage)
                    add(4, h.gpu)
                    add(5, h.byocTotal)
                    add(6, h.byocVCPU)
                    add(7, h.byocMemory)
                    add(8, h.byocGPUMemory)
                    add(9, h.byocCluster)
                    add(10, h.total)
                    blobColumns.append(mask)
                }
            }
        }

        var count: Int { hourStarts.count }
    }

    /// At most this many hours go into one upsert statement.
    static let usageRowsPerStatement = 64

    /// The upserts of 1, 2, 4, … ``usageRowsPerStatement`` hours (index: the power of two):
    /// `?1` is the source, then each row's 13 values. Seven statements, prepared once per
    /// connection, take any number of rows (each takes SQLite 9–85 KB). An hour read again
    /// with the same values is left alone, so that the lookback's re-reads mark nothing for export.
    static let usageUpsertSQL: [String] = (0...6).map { power in
        let rows = 1 << power
        let values = (0..<rows).map { row in
            "(?1, " + (0..<13).map { "?\(2 + 13 * row + $0)" }.joined(separator: ", ") + ")"
        }
        return """
            INSERT INTO usage_hours (source, hour_start, currency, paas_total, cpu, memory, storage, gpu,
                byoc_total, byoc_vcpu, byoc_memory, byoc_gpu_memory, byoc_cluster, total)
            VALUES \(values.joined(separator: ", "))
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
            """
    }

    static func commitUsagePage(
        _ db: Database, source: String, provider: String, rows: UsageRows, position: UsagePosition
    ) throws {
        try Self.ensureState(db, source: source, provider: provider)
        var changedMonths: [Int64] = []  // month starts, in the order met
        // Bound through the C API, up to ``usageRowsPerStatement`` hours of one month per
        // statement: this is the hottest loop of a backfill, and argument arrays (and a String
        // per amount) box every value, while each statement run costs SQLite about as much as
        // two more rows. Amounts go in as integers (see ``usageAmountDecimals``) or BLOBs, and
        // the currency as text, from the connection's in-place binding bytes: a row's slots
        // there, 11 amounts of ``UsageAmountBlob/capacity`` bytes and 16 for the currency.
        let (amountSlot, rowSlot) = (UsageAmountBlob.capacity, 11 * UsageAmountBlob.capacity + 16)
        precondition(usageRowsPerStatement * rowSlot <= Database.inPlaceBindingCapacity)
        let scratch = db.inPlaceBindingBytes
        var first = 0
        while first < rows.count {
            // A run of hours of one month, so that a statement that changed a row marks that month.
            let month = UTC.monthContaining(rows.hourStarts[first])
            var run = 1
            while first + run < rows.count, run < usageRowsPerStatement,
                rows.hourStarts[first + run] >= month.start && rows.hourStarts[first + run] < month.end
            {
                run += 1
            }
            let power = Int.bitWidth - 1 - run.leadingZeroBitCount  // the largest power of two <= run
            let end = first + 1 << power
            let stmt = try db.cachedStatement(key: "#usage-upsert-\(power)") { usageUpsertSQL[power] }
            stmt.reset()
            stmt.bind(1, text: source)
            for row in 0..<(end - first) {
                // ?1 is the source; then 13 parameters a row.
                let base = Int32(2 + 13 * row)
                let slots = scratch + rowSlot * row
                let r = first + row
                stmt.bind(base, int64: rows.hourStarts[r])
                let currencyBytes = rows.currencies[r].utf8.withContiguousStorageIfAvailable { utf8 -> Int? in
                    guard utf8.count <= 16 else { return nil }
                    (slots + 11 * amountSlot).update(from: utf8.baseAddress!, count: utf8.count)
                    return utf8.count
                }
                if let count = currencyBytes ?? nil {
                    stmt.bind(base + 1, textInPlace: slots + 11 * amountSlot, count: count)
                } else {
                    stmt.bind(base + 1, text: rows.currencies[r])
                }
                let blobColumns = rows.blobColumns[r]
                for column in 0..<11 {
                    let value = rows.values[11 * r + column]
                    let index = base + 2 + Int32(column)
                    if blobColumns & 1 << column == 0 {
                        stmt.bind(index, int64: value)
                    } else {
                        let (offset, count) = (Int(value >> 8), Int(value & 0xFF))
                        let slot = slots + amountSlot * column
                        rows.blobs.withUnsafeBufferPointer { slot.update(from: $0.baseAddress! + offset, count: count) }
                        stmt.bind(index, blobInPlace: slot, count: count)
                    }
                }
            }
            defer { stmt.reset() }
            try stmt.runToDone()
            if db.changes > 0, !changedMonths.contains(month.start) { changedMonths.append(month.start) }
            first = end
        }
        for month in changedMonths { try Self.markDirty(db, "usage:" + UTC.month(month)) }
        switch position {
        case .inWindow(let w):
            try db.cachedStatement(
                sql: """
                    UPDATE source_state SET usage_window_start = ?, usage_window_end = ?, usage_window_cursor = ? WHERE source = ?
                    """
            ).execute(arguments: [w.start, w.end, w.cursor, source])
        case .windowDone(let doneUntil):
            try db.cachedStatement(
                sql: """
                    UPDATE source_state SET usage_window_start = NULL, usage_window_end = NULL, usage_window_cursor = NULL,
                        usage_done_until = MAX(COALESCE(usage_done_until, 0), ?) WHERE source = ?
                    """
            ).execute(arguments: [doneUntil, source])
        }
    }

    /// Copies every row of `usage_hours` (amounts as decimal text, total possibly NULL) into
    /// `table`, amounts bound as ``bindUsageAmount(_:_:_:scratch:)`` does and a missing total
    /// filled in. Text that does not read as a decimal is copied unchanged (and a total that
    /// cannot be added up from it stays NULL).
    static func copyUsageHoursAsIntegers(_ db: Database, into table: String) throws {
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO \(table) (source, hour_start, currency, paas_total, cpu, memory, storage, gpu,
                    byoc_total, byoc_vcpu, byoc_memory, byoc_gpu_memory, byoc_cluster, total)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        )
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: 48 * 12)
        defer {
            insert.reset()
            insert.clearBindings()
            scratch.deallocate()
        }
        try forEachRawRow(
            db,
            """
            SELECT source, hour_start, currency, paas_total, cpu, memory, storage, gpu, byoc_total, byoc_vcpu,
                byoc_memory, byoc_gpu_memory, byoc_cluster, total
            FROM usage_hours ORDER BY source, hour_start
            """, Self.noBindings
        ) { row in
            insert.reset()
            for column in Int32(0)...2 { insert.bind(column + 1, valueOf: row, column: column) }
            var amounts: [ExactDecimal?] = []
            for column in Int32(3)...13 {
                let amount = row.isNull(column) ? nil : try? ExactDecimal(parsing: row.string(column))
                amounts.append(amount)
                if let amount {
                    bindUsageAmount(insert, column + 1, amount, scratch: scratch + 48 * Int(column - 3))
                } else {
                    insert.bind(column + 1, valueOf: row, column: column)
                }
            }
            if row.isNull(13), let paas = amounts[0], let byoc = amounts[5] {
                bindUsageAmount(insert, 14, paas + byoc, scratch: scratch + 48 * 11)
            }
            try insert.runToDone()
        }
    }

    /// Rewrites every usage amount stored as decimal text in the form it is stored in now
    /// (``bindUsageAmount(_:_:_:scratch:)``), in one pass over the table, through a SQL function
    /// of the connection's own; text that does not read as a decimal stays as it is.
    static func storeUsageTextAmountsInTheirForm(_ db: Database) throws {
        let name = "billsync_usage_amount"
        let rc = sqlite3_create_function_v2(
            db.sqliteConnection, name, 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nil, usageAmountInItsForm, nil, nil, nil)
        guard rc == SQLITE_OK else { throw db.error(rc, sql: nil) }
        defer { sqlite3_create_function_v2(db.sqliteConnection, name, 1, SQLITE_UTF8, nil, nil, nil, nil, nil) }
        let columns = [
            "paas_total", "cpu", "memory", "storage", "gpu", "byoc_total", "byoc_vcpu", "byoc_memory",
            "byoc_gpu_memory", "byoc_cluster", "total",
        ]
        try db.execute(
            sql: "UPDATE usage_hours SET "
                + columns.map { "\($0) = CASE WHEN typeof(\($0)) = 'text' THEN \(name)(\($0)) ELSE \($0) END" }
                .joined(separator: ", ")
                + " WHERE " + columns.map { "typeof(\($0)) = 'text'" }.joined(separator: " OR "))
    }
}

/// The SQL function behind ``BillingStore/storeUsageTextAmountsInTheirForm(_:)``: decimal text
/// as the integer or BLOB ``BillingStore/bindUsageAmount(_:_:_:scratch:)`` stores; any other
/// value as it is.
private func usageAmountInItsForm(
    _ context: OpaquePointer?, _ count: Int32, _ arguments: UnsafeMutablePointer<OpaquePointer?>?
) {
    guard let value = arguments?[0] else {
        sqlite3_result_null(context)
        return
    }
    var amount: ExactDecimal?
    if sqlite3_value_type(value) == SQLITE_TEXT, let text = sqlite3_value_text(value) {
        let bytes = UnsafeBufferPointer(start: text, count: Int(sqlite3_value_bytes(value)))
        amount = try? ExactDecimal(parsing: String(decoding: bytes, as: UTF8.self))
    }
    guard let amount else {
        sqlite3_result_value(context, value)
        return
    }
    if let units = amount.integer(decimals: BillingStore.usageAmountDecimals) {
        sqlite3_result_int64(context, units)
        return
    }
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: UsageAmountBlob.capacity) { buffer in
        let length = UsageAmountBlob.write(amount, into: buffer.baseAddress!)
        sqlite3_result_blob(context, buffer.baseAddress!, Int32(length), sqliteTransient)
    }
}

import BillSyncCore
import Foundation

/// Usage pages committed with the window position after them: the hottest loop of a backfill.
extension BillingStore {
    /// Upserts a page of hours and moves the usage position, in one transaction.
    public func commitUsagePage(source: String, provider: String, hours: [UsageHour], position: UsagePosition) throws {
        try pool.write { db in
            try Self.commitUsagePage(db, source: source, provider: provider, hours: hours, position: position)
        }
    }

    /// ``commitUsagePage(source:provider:hours:position:)`` on the store's commit queue: returns
    /// at once, so that the next page can be fetched while this one commits. Commits run in
    /// the order they are handed over.
    public func commitUsagePageLater(source: String, provider: String, hours: [UsageHour], position: UsagePosition)
        -> PendingCommit<Void>
    {
        pool.writeLater { db in
            try Self.commitUsagePage(db, source: source, provider: provider, hours: hours, position: position)
        }
    }

    static func commitUsagePage(
        _ db: Database, source: String, provider: String, hours: [UsageHour], position: UsagePosition
    ) throws {
        try Self.ensureState(db, source: source, provider: provider)
        // An hour read again with the same values is left alone, so that the lookback's
        // re-reads mark nothing for export.
        let insert = try db.cachedStatement(
            sql: """
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
        var changedMonths: [Int64] = []  // month starts, in the order met
        var lastMonth: (start: Int64, end: Int64) = (0, 0)
        // Bound through the C API (amounts as integers, see ``usageAmountDecimals``, or text from
        // one scratch buffer): this is the hottest loop of a backfill, and argument arrays (and a
        // String per amount) box every value.
        let stmt = insert
        let slot = 48
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: slot * 11)
        defer {
            // The amounts are bound in place (SQLITE_STATIC): unbind before the buffer goes.
            stmt.reset()
            stmt.clearBindings()
            scratch.deallocate()
        }
        // A binding outlives sqlite3_reset: the source is bound once for the page, the
        // currency again only when a row's differs from the row before.
        stmt.reset()
        stmt.bind(1, text: source)
        var boundCurrency: String?
        for h in hours {
            stmt.reset()
            stmt.bind(2, int64: h.hourStart)
            if h.currency != boundCurrency {
                stmt.bind(3, text: h.currency)
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
            try stmt.runToDone()
            if db.changes > 0,
                !(h.hourStart >= lastMonth.start && h.hourStart < lastMonth.end)
            {
                lastMonth = UTC.monthContaining(h.hourStart)
                if !changedMonths.contains(lastMonth.start) { changedMonths.append(lastMonth.start) }
            }
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
}

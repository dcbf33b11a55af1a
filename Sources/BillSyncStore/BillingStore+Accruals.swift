import BillSyncCore
import Foundation

/// The usage columns by price component, with the line type the provider's invoices give the
/// same component (Northflank's `paasUsage` / `byocUsage` prices).
public enum UsageComponents {
    public static let all: [(column: String, lineType: String)] = [
        ("cpu", "cpu"), ("memory", "memory"), ("storage", "storage"), ("gpu", "gpu"),
        ("byoc_vcpu", "byoc-vcpu"), ("byoc_memory", "byoc-memory"), ("byoc_gpu_memory", "byoc-gpu-memory"),
        ("byoc_cluster", "byoc-cluster"),
    ]
}

/// A source's stored usage hours in `[from, to)`, added up exactly per component.
public struct UsageSummary: Sendable, Equatable {
    public var hours = 0
    public var firstHour: Int64?
    public var lastHour: Int64?
    public var currency: String?
    /// One amount per ``UsageComponents/all``, in that order.
    public var amounts = [ExactDecimal](repeating: .zero, count: UsageComponents.all.count)

    public var total: ExactDecimal { amounts.reduce(.zero, +) }
}

/// A month noted as used but not invoiced (see ``BillingStore/noteUnbilledMonths(source:at:)``).
public struct AccrualMonthRow: Sendable, Equatable {
    public let source: String
    public let provider: String
    public let monthStart: Int64
}

extension BillingStore {
    /// Notes every UTC month in which `source` has stored usage hours that no invoice of the
    /// source covers (an invoice covers the hours in `[period_start, period_end)`); returns the
    /// months noted for the first time. Called after a successful sync, once the invoices
    /// and the usage are both read: a backfill's months already invoiced are never noted.
    @discardableResult
    public func noteUnbilledMonths(source: String, at now: Int64) throws -> [Int64] {
        try pool.write { db in
            let periods = try Row.fetchAll(
                db, sql: "SELECT period_start, period_end FROM invoices WHERE source = ? ORDER BY period_start",
                arguments: [source]
            ).map { (start: $0[0] as Int64, end: $0[1] as Int64) }
            guard
                let span = try Row.fetchOne(
                    db, sql: "SELECT MIN(hour_start), MAX(hour_start) FROM usage_hours WHERE source = ?",
                    arguments: [source]),
                let first: Int64 = span[0], let last: Int64 = span[1]
            else { return [] }
            // The gaps between the invoices' periods, within the usage held.
            var gaps: [(start: Int64, end: Int64)] = []
            var cursor = first
            for period in periods where period.end > cursor {
                if period.start > cursor { gaps.append((cursor, min(period.start, last + 1))) }
                cursor = max(cursor, period.end)
                if cursor > last { break }
            }
            if cursor <= last { gaps.append((cursor, last + 1)) }
            let hoursIn = try db.cachedStatement(
                sql: "SELECT MIN(hour_start) FROM usage_hours WHERE source = ? AND hour_start >= ? AND hour_start < ?")
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO accrual_months (source, month_start, noted_at) VALUES (?, ?, ?)
                    ON CONFLICT DO NOTHING RETURNING month_start
                    """)
            var noted: [Int64] = []
            for gap in gaps where gap.start < gap.end {
                var from = gap.start
                while from < gap.end {
                    guard let row = try Row.fetchOne(hoursIn, arguments: [source, from, gap.end]),
                        let hour: Int64 = row[0]
                    else { break }
                    let month = UTC.monthContaining(hour)
                    if try Row.fetchOne(insert, arguments: [source, month.start, now]) != nil {
                        noted.append(month.start)
                    }
                    from = month.end
                }
            }
            if !noted.isEmpty { try Self.markDirty(db, "invoices") }
            return noted
        }
    }

    /// Every noted month, by source and month.
    public func accrualMonths() throws -> [AccrualMonthRow] {
        try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT a.source, COALESCE(s.provider, ''), a.month_start FROM accrual_months a
                    LEFT JOIN source_state s ON s.source = a.source ORDER BY a.source, a.month_start
                    """
            ).map { AccrualMonthRow(source: $0[0], provider: $0[1], monthStart: $0[2]) }
        }
    }

    /// Whether the invoices of `source` cover every stored usage hour in `[from, to)`.
    public func invoicesCover(source: String, from: Int64, to: Int64) throws -> Bool {
        try pool.read { db in
            var cursor = from
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT period_start, period_end FROM invoices
                    WHERE source = ? AND period_end > ? AND period_start < ? ORDER BY period_start
                    """, arguments: [source, from, to])
            {
                let (start, end): (Int64, Int64) = (row[0], row[1])
                if start > cursor, try Self.hasUsage(db, source: source, from: cursor, to: start) { return false }
                cursor = max(cursor, end)
            }
            if cursor >= to { return true }
            return try !Self.hasUsage(db, source: source, from: cursor, to: to)
        }
    }

    static func hasUsage(_ db: Database, source: String, from: Int64, to: Int64) throws -> Bool {
        try Row.fetchOne(
            db, sql: "SELECT 1 FROM usage_hours WHERE source = ? AND hour_start >= ? AND hour_start < ? LIMIT 1",
            arguments: [source, from, to]) != nil
    }

    /// The stored usage of `source` in `[from, to)`, added up exactly, in one pass over the
    /// rows read straight from SQLite's buffers: integer amounts (see ``usageAmountDecimals``)
    /// added in 64 bits, the finer ones read from their BLOB (or, from older stores, text).
    public func usageSummary(source: String, from: Int64, to: Int64) throws -> UsageSummary {
        try pool.read { db in try Self.usageSummary(db, source: source, from: from, to: to) }
    }

    static func usageSummary(_ db: Database, source: String, from: Int64, to: Int64) throws -> UsageSummary {
        let columns = UsageComponents.all.map(\.column)
        var summary = UsageSummary()
        var units = [Int64](repeating: 0, count: columns.count)
        var currency: [UInt8]?
        let sql =
            "SELECT hour_start, currency, \(columns.joined(separator: ", ")) FROM usage_hours "
            + "WHERE source = ?1 AND hour_start >= ?2 AND hour_start < ?3 ORDER BY hour_start"
        func bind(_ statement: Statement) {
            statement.bind(1, text: source)
            statement.bind(2, int64: from)
            statement.bind(3, int64: to)
        }
        try forEachRawRow(db, sql, bind) { row in
            let hour = row.int64(0)
            if summary.hours == 0 { summary.firstHour = hour }
            summary.lastHour = hour
            summary.hours += 1
            let code = row.bytes(1)
            if currency.map({ code.lexicographicallyPrecedes($0) }) ?? true { currency = Array(code) }
            for i in columns.indices {
                let column = Int32(2 + i)
                if row.isInteger(column) {
                    let (sum, overflow) = units[i].addingReportingOverflow(row.int64(column))
                    if overflow {
                        summary.amounts[i] += ExactDecimal(significand: Int128(units[i]), scale: usageAmountDecimals)
                        units[i] = row.int64(column)
                    } else {
                        units[i] = sum
                    }
                } else if row.isBlob(column) {
                    guard let amount = UsageAmountBlob.read(row.blob(column)) else {
                        throw StoreError("a usage amount of \(source) at \(hour) is not one billsync wrote")
                    }
                    summary.amounts[i] += amount
                } else if row.isText(column) {
                    let text = row.bytes(column)
                    if let amount = ExactDecimal(jsonNumber: text) {
                        summary.amounts[i] += amount
                    } else {
                        summary.amounts[i] += try ExactDecimal(parsing: String(decoding: text, as: UTF8.self))
                    }
                }
            }
        }
        for i in columns.indices {
            summary.amounts[i] += ExactDecimal(significand: Int128(units[i]), scale: usageAmountDecimals)
        }
        summary.currency = currency.map { String(decoding: $0, as: UTF8.self) }
        return summary
    }

    /// The hours of `[from, to)` that `source` has no usage row for, oldest first.
    public func missingUsageHours(source: String, from: Int64, to: Int64) throws -> [Int64] {
        try pool.read { db in try Self.missingUsageHours(db, source: source, from: from, to: to) }
    }

    static func missingUsageHours(_ db: Database, source: String, from: Int64, to: Int64) throws -> [Int64] {
        do {
            let stored = Set(
                try Row.fetchAll(
                    db,
                    sql: "SELECT hour_start FROM usage_hours WHERE source = ? AND hour_start >= ? AND hour_start < ?",
                    arguments: [source, from, to]
                ).map { $0[0] as Int64 })
            return stride(from: UTC.startOfHour(from + 3_599), to: to, by: 3_600).filter { !stored.contains($0) }
        }
    }

    /// A usage amount column as stored: an integer of 10^-8, a BLOB, or (older stores) decimal text.
    static func usageAmount(_ row: Row, _ index: Int) throws -> ExactDecimal {
        switch row.values[index] {
        case .integer(let units): return ExactDecimal(significand: Int128(units), scale: usageAmountDecimals)
        case .text(let text): return try ExactDecimal(parsing: text)
        case .blob(let bytes):
            guard let amount = bytes.withUnsafeBytes({ UsageAmountBlob.read($0) }) else {
                throw StoreError("a stored usage amount is not one billsync wrote")
            }
            return amount
        case .null: return .zero
        }
    }
}

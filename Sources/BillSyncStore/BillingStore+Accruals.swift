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

    /// The stored usage of `source` in `[from, to)`, added up exactly: in SQL when every amount
    /// is held as an integer (see ``usageAmountDecimals``), else row by row.
    public func usageSummary(source: String, from: Int64, to: Int64) throws -> UsageSummary {
        try pool.read { db in try Self.usageSummary(db, source: source, from: from, to: to) }
    }

    static func usageSummary(_ db: Database, source: String, from: Int64, to: Int64) throws -> UsageSummary {
        do {
            let columns = UsageComponents.all.map(\.column)
            let sums = columns.map { "SUM(\($0))" }.joined(separator: ", ")
            let texts = columns.map { "typeof(\($0)) <> 'integer'" }.joined(separator: " OR ")
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*), MIN(hour_start), MAX(hour_start), MIN(currency), \(sums),
                            COALESCE(SUM(\(texts)), 0)
                        FROM usage_hours WHERE source = ? AND hour_start >= ? AND hour_start < ?
                        """, arguments: [source, from, to])
            else { return UsageSummary() }
            var summary = UsageSummary(
                hours: row[0], firstHour: row[1], lastHour: row[2], currency: row[3])
            guard summary.hours > 0 else { return summary }
            let textRows: Int64 = row[4 + columns.count]
            if textRows == 0 {
                for i in columns.indices {
                    let units: Int64 = row[4 + i]
                    summary.amounts[i] = ExactDecimal(significand: Int128(units), scale: Self.usageAmountDecimals)
                }
                return summary
            }
            for hour in try Row.fetchAll(
                db,
                sql: "SELECT \(columns.joined(separator: ", ")) FROM usage_hours "
                    + "WHERE source = ? AND hour_start >= ? AND hour_start < ?", arguments: [source, from, to])
            {
                for i in columns.indices { summary.amounts[i] += try Self.usageAmount(hour, i) }
            }
            return summary
        }
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

    /// A usage amount column as stored: an integer of 10^-8, or decimal text.
    static func usageAmount(_ row: Row, _ index: Int) throws -> ExactDecimal {
        switch row.values[index] {
        case .integer(let units): return ExactDecimal(significand: Int128(units), scale: usageAmountDecimals)
        case .text(let text): return try ExactDecimal(parsing: text)
        default: return .zero
        }
    }
}

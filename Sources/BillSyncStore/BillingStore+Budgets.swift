import BillSyncCore
import Foundation

/// What budgets and spike detection read, and what they remember having reported.
extension BillingStore {
    /// The lines of `source`'s invoices in `currency` whose period starts in `[from, to)`, added up.
    public func invoicedAmount(source: String, currency: String, from: Int64, to: Int64) throws -> ExactDecimal {
        try pool.read { db in
            var sum = ExactDecimal.zero
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT l.amount FROM invoices i JOIN line_items l ON l.source = i.source AND l.invoice_id = i.invoice_id
                    WHERE i.source = ? AND i.currency = ? AND i.period_start >= ? AND i.period_start < ?
                    """, arguments: [source, currency, from, to])
            {
                sum += try ExactDecimal(parsing: row[0] as String)
            }
            return sum
        }
    }

    /// Each stored hour of `source` in `[from, to)` with its total, oldest first.
    public func hourTotals(source: String, from: Int64, to: Int64) throws -> [(hour: Int64, total: ExactDecimal)] {
        try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT hour_start, total, paas_total, byoc_total FROM usage_hours
                    WHERE source = ? AND hour_start >= ? AND hour_start < ? ORDER BY hour_start
                    """, arguments: [source, from, to]
            ).map { row in
                if case .null = row.values[1] {
                    return (row[0], try Self.usageAmount(row, 2) + Self.usageAmount(row, 3))
                }
                return (row[0], try Self.usageAmount(row, 1))
            }
        }
    }

    /// What a source's invoice list last said it holds (Typesense Cloud's `total`); kept only
    /// when it changed.
    public func setListTotal(source: String, _ total: Int64) throws {
        if try meta("list_total:" + source) != String(total) { try setMeta("list_total:" + source, String(total)) }
    }

    /// Each source whose list says how many invoices it holds: that count, the invoices
    /// stored for it, and the span of their periods; by source.
    public func listTotals() throws -> [(
        source: String, provider: String, listed: Int64, stored: Int64, from: Int64, to: Int64
    )] {
        try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT substr(m.key, 12), COALESCE(s.provider, ''), m.value,
                        (SELECT COUNT(*) FROM invoices i WHERE i.source = substr(m.key, 12)),
                        (SELECT COALESCE(MIN(period_start), 0) FROM invoices i WHERE i.source = substr(m.key, 12)),
                        (SELECT COALESCE(MAX(period_end), 0) FROM invoices i WHERE i.source = substr(m.key, 12))
                    FROM meta m LEFT JOIN source_state s ON s.source = substr(m.key, 12)
                    WHERE m.key LIKE 'list\\_total:%' ESCAPE '\\' ORDER BY 1
                    """
            ).map { row in
                (row[0], row[1], Int64(row[2] as String) ?? 0, row[3], row[4], row[5])
            }
        }
    }

    /// Remembers that `budget` crossed `threshold` in the month starting at `month`; false when
    /// that was already known.
    public func recordThreshold(
        budget: String, month: Int64, threshold: ExactDecimal, monthToDate: ExactDecimal, at: Int64
    )
        throws -> Bool
    {
        try pool.write { db in
            try Row.fetchOne(
                db,
                sql: """
                    INSERT INTO budget_thresholds (budget, month_start, threshold, crossed_at, month_to_date)
                    VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1
                    """, arguments: [budget, month, threshold.description, at, monthToDate.description]) != nil
        }
    }

    /// Remembers a spike hour; false when it was already known.
    public func recordSpike(source: String, hour: Int64, total: ExactDecimal, baseline: ExactDecimal, at: Int64)
        throws -> Bool
    {
        try pool.write { db in
            try Row.fetchOne(
                db,
                sql: """
                    INSERT INTO usage_spikes (source, hour_start, total, baseline, found_at)
                    VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1
                    """, arguments: [source, hour, total.description, baseline.description, at]) != nil
        }
    }
}

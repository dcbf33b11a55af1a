import BillSyncCore
import Foundation

/// Rows read straight from SQLite's buffers, for the CSV exports' hot loops.
/// Usage amounts as the store keeps them (see ``BillingStore/usageAmountDecimals``).
extension RawRow {
    /// A usage amount column (see ``BillingStore/usageAmountDecimals``) as its canonical
    /// decimal text, written into `buffer` (48 bytes) when stored as an integer or a BLOB
    /// (text from older stores is its own); the bytes are valid until the next call with the
    /// same buffer.
    public func amount(_ column: Int32, _ buffer: UnsafeMutablePointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        if isInteger(column) {
            return UnsafeBufferPointer(start: buffer, count: Self.writeUnits(int64(column), into: buffer))
        }
        if isBlob(column), let amount = UsageAmountBlob.read(blob(column)) {
            return UnsafeBufferPointer(start: buffer, count: amount.write(minimumDecimals: 2, into: buffer))
        }
        return bytes(column)
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
            out[n] = 48 + UInt8(whole)  // nearly every hourly amount
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
        isInteger(column) ? 48 : isBlob(column) ? max(48, blob(column).count) : bytes(column).count
    }

    /// ``amount(_:_:)`` written into `out` (room for ``amountCapacity(_:)``); returns the length.
    public func writeAmount(_ column: Int32, into out: UnsafeMutablePointer<UInt8>) -> Int {
        let text = amount(column, out)  // already in `out` when stored as an integer
        if let base = text.baseAddress, base != UnsafePointer(out) { out.update(from: base, count: text.count) }
        return text.count
    }
}

extension BillingStore {
    /// For a query without parameters.
    static func noBindings(_: Statement) {}

    /// Steps a query and hands each row over as raw SQLite values.
    func forEachRawRow(_ sql: String, _ bind: (Statement) -> Void, _ body: (RawRow) throws -> Void) throws {
        try pool.read { db in try Self.forEachRawRow(db, sql, bind, body) }
    }

    static func forEachRawRow(
        _ db: Database, _ sql: String, _ bind: (Statement) -> Void, _ body: (RawRow) throws -> Void
    ) throws {
        try db.cachedStatement(sql: sql).forEachRow(bind, body)
    }

    /// The columns of ``forEachRawUsageRow(from:to:_:)``, in its SELECT's order (amounts: read
    /// them with ``RawColumns/amount(_:_:)`` or ``RawColumns/writeAmount(_:into:)``).
    public enum UsageColumn: Int32, Sendable {
        case source, provider, hourStart, currency, paasTotal, cpu, memory, storage, gpu, byocTotal, byocVCPU,
            byocMemory, byocGPUMemory, byocCluster, total
    }

    /// Each stored hour in `[start, end)`, ordered by source then hour, without any Swift string
    /// per cell, for exports.
    ///
    /// One range search per source (found by seeking past the previous one), never a scan of
    /// the whole table: a month's file reads only that month's rows.
    public func forEachRawUsageRow(from start: Int64, to end: Int64, _ body: (RawColumns<UsageColumn>) throws -> Void)
        throws
    {
        try pool.read { db in
            var previous = ""
            while true {
                var next: String? = nil
                try Self.forEachRawRow(
                    db, "SELECT MIN(source) FROM usage_hours WHERE source > ?",
                    { statement in
                        statement.bind(1, text: previous)
                    }
                ) { row in
                    if !row.isNull(0) { next = row.string(0) }
                }
                guard let source = next else { return }
                // The source's provider once, handed back in every row as a bound value, rather
                // than a join that looks it up again for each of a month's hours.
                var provider = ""
                try Self.forEachRawRow(
                    db, "SELECT provider FROM source_state WHERE source = ?",
                    { statement in
                        statement.bind(1, text: source)
                    }
                ) { row in provider = row.string(0) }
                try Self.forEachRawRow(
                    db,
                    """
                    SELECT source, ?4, hour_start, currency, paas_total, cpu, memory, storage, gpu, byoc_total,
                        byoc_vcpu, byoc_memory, byoc_gpu_memory, byoc_cluster, total
                    FROM usage_hours WHERE source = ?1 AND hour_start >= ?2 AND hour_start < ?3 ORDER BY hour_start
                    """,
                    { statement in
                        statement.bind(1, text: source)
                        statement.bind(2, int64: start)
                        statement.bind(3, int64: end)
                        statement.bind(4, text: provider)
                    }
                ) { try body(RawColumns(raw: $0)) }
                previous = source
            }
        }
    }

    /// The columns of ``forEachRawInvoiceRow(_:)``, in its SELECT's order.
    public enum InvoiceColumn: Int32, Sendable {
        case source, provider, invoiceID, invoiceNumber, status, providerStatus, currency, periodStart, periodEnd,
            issuedOn, paidOn, subtotal, total, creditsApplied, url
    }

    /// Every invoice as raw values, ordered by source, issue date, id.
    public func forEachRawInvoiceRow(_ body: (RawColumns<InvoiceColumn>) throws -> Void) throws {
        try forEachRawRow(
            """
            SELECT source, provider, invoice_id, invoice_number, status, provider_status, currency, period_start,
                period_end, issued_on, paid_on, subtotal, total, credits_applied, url
            FROM invoices ORDER BY source, issued_on, invoice_id
            """, { _ in }, { try body(RawColumns(raw: $0)) })
    }

    /// The columns of ``forEachRawLineItemRow(_:)``, in its SELECT's order.
    public enum LineItemColumn: Int32, Sendable {
        case source, provider, invoiceID, lineNo, lineType, category, description, quantity, unit, unitPrice, amount,
            currency, resourceID, attributes
    }

    /// Every line item as raw values, in the order of ``forEachLineItemRow(_:)``.
    public func forEachRawLineItemRow(_ body: (RawColumns<LineItemColumn>) throws -> Void) throws {
        try forEachRawRow(
            """
            SELECT l.source, i.provider, l.invoice_id, l.line_no, l.line_type, l.category, l.description, l.quantity,
                l.unit, l.unit_price, l.amount, i.currency, l.resource_id, l.attributes
            FROM line_items l JOIN invoices i ON i.source = l.source AND i.invoice_id = l.invoice_id
            ORDER BY l.source, i.issued_on, l.invoice_id, l.line_no
            """, { _ in }, { try body(RawColumns(raw: $0)) })
    }
}

/// A row of one of the store's raw readers, read by the column names declared next to its
/// SELECT (``BillingStore/InvoiceColumn``, …), so that a reader and its query cannot drift apart.
public struct RawColumns<Column: RawRepresentable> where Column.RawValue == Int32 {
    public let raw: RawRow

    @inlinable public func bytes(_ column: Column) -> UnsafeBufferPointer<UInt8> { raw.bytes(column.rawValue) }
    @inlinable public func string(_ column: Column) -> String { raw.string(column.rawValue) }
    @inlinable public func int64(_ column: Column) -> Int64 { raw.int64(column.rawValue) }
    @inlinable public func isNull(_ column: Column) -> Bool { raw.isNull(column.rawValue) }
    @inlinable public func amount(_ column: Column, _ buffer: UnsafeMutablePointer<UInt8>) -> UnsafeBufferPointer<UInt8>
    {
        raw.amount(column.rawValue, buffer)
    }
    @inlinable public func amountCapacity(_ column: Column) -> Int { raw.amountCapacity(column.rawValue) }
    @inlinable public func writeAmount(_ column: Column, into out: UnsafeMutablePointer<UInt8>) -> Int {
        raw.writeAmount(column.rawValue, into: out)
    }
}

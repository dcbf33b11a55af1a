import BillSyncCore
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
                db.setBusyTimeout(milliseconds: 30_000)
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                // 512 KiB of page cache per connection instead of SQLite's 2 MB: a page run's
                // upserts touch a few leaf pages at the end of each source's range, and the
                // exports read in key order, so a bigger cache buys no speed, only memory.
                try db.execute(sql: "PRAGMA cache_size = -512")
            }
            let migrated = try Schema.migrator.migrate(pool)
            // Converting a store's usage (v5, v10) leaves pages free or part empty inside the
            // file: given back once, so that the file is the size of what it holds. Best effort:
            // it needs room for a copy of the file, and a store with free pages works all the same.
            let converted = ["v5-usage-amounts-as-integers", "v10-usage-fine-amounts-as-blobs"]
            if converted.contains(where: migrated.contains) && !migrated.contains("v1-sources-invoices-usage") {
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

    // MARK: - Usage amounts

    /// Usage amounts are stored as an INTEGER count of `10^-8` (`3.32102287` → `332102287`)
    /// when they have at most this many decimals and fit 64 bits, and otherwise (finer amounts,
    /// such as a JavaScript server's `2.9e-7` cent) as a short BLOB (``UsageAmountBlob``); both
    /// read back as the same exact amount (``RawRow/amount(_:_:)``). An hourly amount is four
    /// bytes instead of ten, and nothing is formatted on the commit path. Stores written before
    /// v10 kept the finer amounts as decimal TEXT, which v10 turns into BLOBs (and which reads
    /// back the same all the same).
    static let usageAmountDecimals = 8

    /// A usage amount's stored form, as ``usageAmountDecimals`` says: its count of 10^-8, or
    /// nil after writing its BLOB at `blob` (``UsageAmountBlob/capacity`` bytes), `blobCount`
    /// bytes long.
    static func storedUsageUnits(
        _ amount: ExactDecimal, blob: UnsafeMutablePointer<UInt8>, blobCount: inout Int
    ) -> Int64? {
        if let units = amount.integer(decimals: usageAmountDecimals) { return units }
        blobCount = UsageAmountBlob.write(amount, into: blob)
        return nil
    }

    /// Binds a usage amount in its stored form; `scratch` holds the BLOB form
    /// (``UsageAmountBlob/capacity`` bytes), bound in place: it must outlive the statement's
    /// use of the binding.
    static func bindUsageAmount(
        _ statement: Statement, _ index: Int32, _ amount: ExactDecimal, scratch: UnsafeMutablePointer<UInt8>
    ) {
        var count = 0
        if let units = storedUsageUnits(amount, blob: scratch, blobCount: &count) {
            statement.bind(index, int64: units)
        } else {
            statement.bind(index, blobInPlace: scratch, count: count)
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
}

import BillSyncCore
import Foundation

/// What changed since the last export, and the store's own settings (`meta`).
extension BillingStore {
    static func markDirty(_ db: Database, _ key: String) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO export_dirty (key, seq) VALUES (?, 1) ON CONFLICT (key) DO UPDATE SET seq = seq + 1
                """
        ).execute(arguments: [key])
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
            try db.execute(
                sql:
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                arguments: [key, value])
        }
    }
}

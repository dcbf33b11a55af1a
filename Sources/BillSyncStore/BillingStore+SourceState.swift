import BillSyncCore
import Foundation

/// Where each source's sync stands, and its health.
extension BillingStore {
    public func state(source: String, provider: String) throws -> SourceState {
        try pool.read { db in try Self.loadState(db, source: source) }
            ?? SourceState(source: source, provider: provider)
    }

    static func loadState(_ db: Database, source: String) throws -> SourceState? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM source_state WHERE source = ?", arguments: [source])
        else { return nil }
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
            try db.execute(
                sql: "UPDATE source_state SET last_attempt_at = ? WHERE source = ?", arguments: [at, source])
        }
    }

    /// Ends a sync: success clears the last error; failure records it; a sync stopped before
    /// it completed (`completed` false) only adds its requests. Requests are added up.
    public func recordResult(
        source: String, provider: String, at: Int64, error: String?, requests: Int, completed: Bool = true
    ) throws {
        try pool.write { db in
            try Self.ensureState(db, source: source, provider: provider)
            if !completed && error == nil {
                try db.execute(
                    sql: """
                        UPDATE source_state SET last_sync_requests = ?, requests_total = requests_total + ? WHERE source = ?
                        """, arguments: [requests, requests, source])
            } else if let error {
                try db.execute(
                    sql: """
                        UPDATE source_state SET last_error = ?, last_error_at = ?, last_sync_requests = ?,
                            requests_total = requests_total + ? WHERE source = ?
                        """, arguments: [error, at, requests, requests, source])
            } else {
                try db.execute(
                    sql: """
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
            try db.execute(
                sql: """
                    UPDATE source_state SET walk_active = 0, walk_cursor = NULL, walk_full = 1,
                        usage_done_until = ?, usage_window_start = NULL, usage_window_end = NULL, usage_window_cursor = NULL
                    WHERE source = ?
                    """, arguments: [usageFrom, source])
        }
    }
}

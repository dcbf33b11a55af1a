import CSQLite
import Foundation

/// One connection to the state file, used by one thread at a time.
final class Database {
    let sqliteConnection: OpaquePointer
    private var cache: [String: Statement] = [:]

    /// SQLite's memory statistics off, before its first connection: left on, every allocation
    /// SQLite makes takes one process-wide mutex to count it, and nothing here reads the count.
    private static let configured: Bool = bs_sqlite3_disable_memstatus() == SQLITE_OK

    init(path: String) throws {
        _ = Self.configured
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(handle)
            throw SQLiteError(code: rc, message: message, sql: nil)
        }
        sqliteConnection = handle
    }

    deinit {
        cache.removeAll()
        sqlite3_close_v2(sqliteConnection)
        inPlaceBindings?.deallocate()
    }

    /// Bytes that live as long as the connection, for values bound in place (SQLITE_STATIC) to
    /// its cached statements: a binding left after a run then points at memory that is still
    /// there, so nothing has to be unbound, and the next run binds over it. For one hot loop
    /// at a time (the connection is used by one thread at a time).
    var inPlaceBindingBytes: UnsafeMutablePointer<UInt8> {
        if let bytes = inPlaceBindings { return bytes }
        let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: Self.inPlaceBindingCapacity)
        inPlaceBindings = bytes
        return bytes
    }
    private var inPlaceBindings: UnsafeMutablePointer<UInt8>?
    static let inPlaceBindingCapacity = 64 << 10

    func error(_ rc: Int32, sql: String?) -> SQLiteError {
        SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(sqliteConnection)), sql: sql)
    }

    /// Runs SQL (several statements, without arguments), or one statement with arguments.
    func execute(sql: String, arguments: [any SQLArgument] = []) throws {
        if arguments.isEmpty {
            var message: UnsafeMutablePointer<CChar>?
            let rc = sqlite3_exec(sqliteConnection, sql, nil, nil, &message)
            guard rc == SQLITE_OK else {
                let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
                sqlite3_free(message)
                throw SQLiteError(code: rc, message: text, sql: sql)
            }
            return
        }
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }

    func makeStatement(sql: String) throws -> Statement {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(sqliteConnection, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc, sql: sql) }
        return Statement(stmt, database: self, sql: sql)
    }

    /// A statement prepared once per connection and kept under a short `key` instead of its
    /// text: for long statements, whose text would cost more to hash on every lookup than the
    /// statement takes to run. `key` must not be SQL.
    func cachedStatement(key: String, sql: () -> String) throws -> Statement {
        if let statement = cache[key] { return statement }
        let statement = try makeStatement(sql: sql())
        cache[key] = statement
        return statement
    }

    /// A statement prepared once per connection and kept.
    func cachedStatement(sql: String) throws -> Statement {
        if let statement = cache[sql] { return statement }
        let statement = try makeStatement(sql: sql)
        cache[sql] = statement
        return statement
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    /// BEGIN and COMMIT are prepared once per connection: a backfill runs thousands of them.
    func inTransaction<T>(_ begin: String, _ body: (Database) throws -> T) throws -> T {
        try cachedStatement(sql: begin).execute()
        let result: T
        do {
            result = try body(self)
        } catch {
            if sqlite3_get_autocommit(sqliteConnection) == 0 {
                _ = sqlite3_exec(sqliteConnection, "ROLLBACK", nil, nil, nil)
            }
            throw error
        }
        do {
            try cachedStatement(sql: "COMMIT").execute()
        } catch {
            if sqlite3_get_autocommit(sqliteConnection) == 0 {
                _ = sqlite3_exec(sqliteConnection, "ROLLBACK", nil, nil, nil)
            }
            throw error
        }
        return result
    }

    /// Hands back the page cache; the cached statements stay.
    func releaseMemory() {
        sqlite3_db_release_memory(sqliteConnection)
    }
}

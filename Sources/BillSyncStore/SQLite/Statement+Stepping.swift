import CSQLite

/// Binding and stepping by hand, for the store's hot loops (a backfill's usage upserts, the CSV
/// exports' rows): no argument array, no boxed value, no String per cell.
extension Statement {
    /// Forgets the last run; the bindings stay.
    func reset() { sqlite3_reset(sqliteStatement) }

    func clearBindings() { sqlite3_clear_bindings(sqliteStatement) }

    func bind(_ index: Int32, int64 value: Int64) { sqlite3_bind_int64(sqliteStatement, index, value) }

    /// Text as ``SQLArgument`` binds a String (TEXT, or a UTF-8 BLOB when it holds a NUL).
    func bind(_ index: Int32, text: String) { _ = text.bind(sqliteStatement, index) }

    /// `count` bytes at `bytes` as TEXT, bound in place (no copy): they must stay as they are
    /// until the statement is reset and bound again, or its bindings cleared.
    func bind(_ index: Int32, textInPlace bytes: UnsafeMutablePointer<UInt8>, count: Int) {
        bytes.withMemoryRebound(to: CChar.self, capacity: count) { chars in
            _ = sqlite3_bind_text(sqliteStatement, index, chars, Int32(count), nil)
        }
    }

    /// `count` bytes at `bytes` as a BLOB, bound in place like ``bind(_:textInPlace:count:)``.
    func bind(_ index: Int32, blobInPlace bytes: UnsafeMutablePointer<UInt8>, count: Int) {
        _ = sqlite3_bind_blob(sqliteStatement, index, bytes, Int32(count), nil)
    }

    /// The value in `column` of another statement's current row, with its storage class.
    func bind(_ index: Int32, valueOf row: RawRow, column: Int32) {
        _ = sqlite3_bind_value(sqliteStatement, index, sqlite3_column_value(row.stmt, column))
    }

    /// Runs a statement that returns no rows, with its current bindings.
    func runToDone() throws {
        let rc = sqlite3_step(sqliteStatement)
        guard rc == SQLITE_DONE else { throw database.error(rc, sql: nil) }
    }

    /// Each row, after `bind` has bound the parameters; reset before and after.
    func forEachRow(_ bind: (Statement) -> Void, _ body: (RawRow) throws -> Void) throws {
        sqlite3_reset(sqliteStatement)
        defer { sqlite3_reset(sqliteStatement) }
        bind(self)
        while true {
            let rc = sqlite3_step(sqliteStatement)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw database.error(rc, sql: nil) }
            try body(RawRow(stmt: sqliteStatement))
        }
    }
}

extension Database {
    /// Rows the last INSERT, UPDATE or DELETE changed.
    var changes: Int32 { sqlite3_changes(sqliteConnection) }

    /// How long a connection waits on another's lock before failing with SQLITE_BUSY.
    func setBusyTimeout(milliseconds: Int32) { sqlite3_busy_timeout(sqliteConnection, milliseconds) }
}

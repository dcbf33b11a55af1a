import CSQLite

/// The current row of a statement being stepped by hand, read straight from SQLite's buffers
/// (no Swift value per cell). Valid only until the statement steps again.
public struct RawRow {
    let stmt: OpaquePointer?

    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(stmt, column) }

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_NULL }

    /// Whether the column holds an INTEGER (rather than text, a real or NULL).
    public func isInteger(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_INTEGER }

    /// Whether the column holds TEXT.
    public func isText(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_TEXT }

    /// Whether the column holds a BLOB.
    public func isBlob(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_BLOB }

    /// The column's bytes as a BLOB, in SQLite's own buffer. (``bytes(_:)`` would turn a BLOB
    /// into TEXT, after which ``isBlob(_:)`` no longer says what was stored.)
    public func blob(_ column: Int32) -> UnsafeRawBufferPointer {
        let p = sqlite3_column_blob(stmt, column)
        return UnsafeRawBufferPointer(start: p, count: p == nil ? 0 : Int(sqlite3_column_bytes(stmt, column)))
    }

    /// The column as a string (TEXT or a UTF-8 BLOB alike).
    public func string(_ column: Int32) -> String { String(decoding: bytes(column), as: UTF8.self) }

    /// The column's bytes as text, in SQLite's own buffer.
    public func bytes(_ column: Int32) -> UnsafeBufferPointer<UInt8> {
        guard let p = sqlite3_column_text(stmt, column) else { return UnsafeBufferPointer(start: nil, count: 0) }
        let count = Int(sqlite3_column_bytes(stmt, column))
        return UnsafeBufferPointer(start: count > 0 ? p : nil, count: count)
    }
}

import CSQLite
import Foundation

// The few pieces of SQLite the store needs, over the C API, one type per file in this folder,
// which is the only one that imports CSQLite: a connection with its prepared statements, rows
// read into values, one writer and a set of readers over one WAL file, the commit queue, the
// checkpointer and the migrations.

/// An SQLite failure: the result code and SQLite's own words for it.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public let message: String
    public let sql: String?

    public var description: String {
        var text = "SQLite error \(code): \(message)"
        if let sql { text += " - while executing `\(sql)`" }
        return text
    }
}

import CSQLite
import Foundation

/// A prepared statement of one connection.
final class Statement {
    let sqliteStatement: OpaquePointer
    unowned let database: Database
    let sql: String

    init(_ stmt: OpaquePointer, database: Database, sql: String) {
        sqliteStatement = stmt
        self.database = database
        self.sql = sql
    }

    deinit { sqlite3_finalize(sqliteStatement) }

    /// The result columns' names, read once per statement and shared by its rows.
    lazy var columnNames: [String] = (0..<sqlite3_column_count(sqliteStatement)).map {
        String(cString: sqlite3_column_name(sqliteStatement, $0))
    }

    func bind(_ arguments: [any SQLArgument]) throws {
        sqlite3_reset(sqliteStatement)
        sqlite3_clear_bindings(sqliteStatement)
        for (i, argument) in arguments.enumerated() {
            let rc = argument.bind(sqliteStatement, Int32(i + 1))
            guard rc == SQLITE_OK else { throw database.error(rc, sql: sql) }
        }
    }

    /// Runs the statement to its end.
    func execute(arguments: [any SQLArgument] = []) throws {
        try bind(arguments)
        defer { sqlite3_reset(sqliteStatement) }
        while true {
            let rc = sqlite3_step(sqliteStatement)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw database.error(rc, sql: sql) }
        }
    }

    /// The next row, or nil at the end (and the statement is reset).
    func step() throws -> Row? {
        let rc = sqlite3_step(sqliteStatement)
        if rc == SQLITE_ROW { return Row(self) }
        sqlite3_reset(sqliteStatement)
        guard rc == SQLITE_DONE else { throw database.error(rc, sql: sql) }
        return nil
    }
}

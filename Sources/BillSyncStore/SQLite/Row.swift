import CSQLite
import Foundation

/// One row, read out of its statement.
struct Row {
    let values: [SQLValue]
    let names: [String]

    init(_ statement: Statement) {
        let stmt = statement.sqliteStatement
        let count = sqlite3_column_count(stmt)
        var values: [SQLValue] = []
        values.reserveCapacity(Int(count))
        for i in 0..<count {
            switch sqlite3_column_type(stmt, i) {
            case SQLITE_NULL:
                values.append(.null)
            case SQLITE_INTEGER:
                values.append(.integer(sqlite3_column_int64(stmt, i)))
            case SQLITE_BLOB:
                let n = Int(sqlite3_column_bytes(stmt, i))
                if let p = sqlite3_column_blob(stmt, i), n > 0 {
                    values.append(.blob(Array(UnsafeRawBufferPointer(start: p, count: n))))
                } else {
                    values.append(.blob([]))
                }
            default:
                let n = Int(sqlite3_column_bytes(stmt, i))
                if let p = sqlite3_column_text(stmt, i), n > 0 {
                    values.append(.text(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)))
                } else {
                    values.append(.text(""))
                }
            }
        }
        self.values = values
        names = statement.columnNames
    }

    subscript<T: SQLColumnValue>(_ index: Int) -> T {
        guard let value = T.from(values[index]) else {
            fatalError("column \(index) (\(names[index])) holds \(values[index]), not \(T.self)")
        }
        return value
    }

    subscript<T: SQLColumnValue>(_ name: String) -> T {
        guard let index = names.firstIndex(of: name) else { fatalError("no column \(name)") }
        return self[index]
    }
}

/// Rows read one at a time.
struct RowCursor {
    let statement: Statement

    func next() throws -> Row? { try statement.step() }
}

extension Row {
    static func fetchCursor(_ statement: Statement, arguments: [any SQLArgument] = []) throws -> RowCursor {
        try statement.bind(arguments)
        return RowCursor(statement: statement)
    }

    static func fetchCursor(_ db: Database, sql: String, arguments: [any SQLArgument] = []) throws -> RowCursor {
        try fetchCursor(db.makeStatement(sql: sql), arguments: arguments)
    }

    static func fetchAll(_ statement: Statement, arguments: [any SQLArgument] = []) throws -> [Row] {
        try statement.bind(arguments)
        var rows: [Row] = []
        while let row = try statement.step() { rows.append(row) }
        return rows
    }

    static func fetchAll(_ db: Database, sql: String, arguments: [any SQLArgument] = []) throws -> [Row] {
        try fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
    }

    static func fetchOne(_ statement: Statement, arguments: [any SQLArgument] = []) throws -> Row? {
        try statement.bind(arguments)
        defer { sqlite3_reset(statement.sqliteStatement) }
        return try statement.step()
    }

    static func fetchOne(_ db: Database, sql: String, arguments: [any SQLArgument] = []) throws -> Row? {
        try fetchOne(db.cachedStatement(sql: sql), arguments: arguments)
    }
}

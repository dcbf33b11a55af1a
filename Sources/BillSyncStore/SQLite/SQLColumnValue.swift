import CSQLite
import Foundation

/// What a column can be read as. Reading a value as a type it cannot be (a NULL as a
/// non-optional, text as a number) is a bug in the store's own SQL, and stops the process.
protocol SQLColumnValue {
    static func from(_ value: SQLValue) -> Self?
}

extension String: SQLColumnValue {
    static func from(_ value: SQLValue) -> String? {
        switch value {
        case .text(let s): return s
        case .blob(let b): return String(decoding: b, as: UTF8.self)
        case .integer(let i): return String(i)
        case .null: return nil
        }
    }
}

extension Int64: SQLColumnValue {
    static func from(_ value: SQLValue) -> Int64? {
        if case .integer(let i) = value { return i }
        return nil
    }
}

extension Int: SQLColumnValue {
    static func from(_ value: SQLValue) -> Int? {
        if case .integer(let i) = value { return Int(i) }
        return nil
    }
}

extension Bool: SQLColumnValue {
    static func from(_ value: SQLValue) -> Bool? {
        if case .integer(let i) = value { return i != 0 }
        return nil
    }
}

extension Optional: SQLColumnValue where Wrapped: SQLColumnValue {
    static func from(_ value: SQLValue) -> Wrapped?? {
        if case .null = value { return .some(nil) }
        guard let wrapped = Wrapped.from(value) else { return nil }
        return .some(wrapped)
    }
}

extension SQLColumnValue {
    /// The first column of the first row, if there is a row and it is not NULL.
    static func fetchOne(_ db: Database, sql: String, arguments: [any SQLArgument] = []) throws -> Self? {
        guard let row = try Row.fetchOne(db, sql: sql, arguments: arguments) else { return nil }
        if case .null = row.values[0] { return nil }
        return row[0] as Self
    }
}

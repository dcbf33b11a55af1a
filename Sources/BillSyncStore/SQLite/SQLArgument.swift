import CSQLite
import Foundation

/// A value SQLite hands back.
enum SQLValue {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])
}

/// What can be bound to a statement's parameter.
protocol SQLArgument {
    func bind(_ stmt: OpaquePointer, _ index: Int32) -> Int32
}

let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

extension String: SQLArgument {
    func bind(_ stmt: OpaquePointer, _ index: Int32) -> Int32 {
        if isEmpty { return sqlite3_bind_text(stmt, index, "", 0, sqliteTransient) }
        var text = self
        return text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                sqlite3_bind_text(stmt, index, chars.baseAddress, Int32(chars.count), sqliteTransient)
            }
        }
    }
}

extension Int64: SQLArgument {
    func bind(_ stmt: OpaquePointer, _ index: Int32) -> Int32 { sqlite3_bind_int64(stmt, index, self) }
}

extension Int: SQLArgument {
    func bind(_ stmt: OpaquePointer, _ index: Int32) -> Int32 { sqlite3_bind_int64(stmt, index, Int64(self)) }
}

extension Bool: SQLArgument {
    func bind(_ stmt: OpaquePointer, _ index: Int32) -> Int32 { sqlite3_bind_int64(stmt, index, self ? 1 : 0) }
}

extension Optional: SQLArgument where Wrapped: SQLArgument {
    func bind(_ stmt: OpaquePointer, _ index: Int32) -> Int32 {
        switch self {
        case .some(let value): return value.bind(stmt, index)
        case .none: return sqlite3_bind_null(stmt, index)
        }
    }
}

/// Bytes bound as a BLOB.
struct SQLBlob: SQLArgument {
    var bytes: [UInt8]

    func bind(_ stmt: OpaquePointer, _ index: Int32) -> Int32 {
        bytes.withUnsafeBytes { raw in
            sqlite3_bind_blob(
                stmt, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(raw.count), sqliteTransient)
        }
    }
}

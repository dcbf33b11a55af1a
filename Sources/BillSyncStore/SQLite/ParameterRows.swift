import BillSyncCore
import CSQLite
import Foundation

/// Rows of a statement's parameter values in their bound form, made on the thread that has the
/// values, so that the one commit thread every write passes only copies bytes and binds: no
/// argument array, no boxed value, no String per value there.
///
/// Each value is NULL, an integer, or bytes: text, or a UTF-8 BLOB for text that holds a NUL
/// (which SQLite's text binding would cut off), as ``BillingStore/bind(_:)`` binds a String.
struct ParameterRows: Sendable {
    enum Kind: UInt8, Sendable {
        case null, integer, text, blob
    }

    /// Values a row.
    let width: Int
    private var kinds: [Kind] = []
    /// The integer, or where the value's bytes start in `bytes`.
    private var numbers: [Int64] = []
    private var lengths: [Int32] = []
    private var bytes: [UInt8] = []

    init(width: Int, rows: Int = 1) {
        self.width = width
        kinds.reserveCapacity(width * rows)
        numbers.reserveCapacity(width * rows)
        lengths.reserveCapacity(width * rows)
    }

    /// Complete rows so far.
    var count: Int { kinds.count / width }

    mutating func append(_ value: Int64) {
        kinds.append(.integer)
        numbers.append(value)
        lengths.append(0)
    }

    mutating func append(_ value: Int) { append(Int64(value)) }

    mutating func append(_ value: Bool) { append(Int64(value ? 1 : 0)) }

    mutating func appendNull() {
        kinds.append(.null)
        numbers.append(0)
        lengths.append(0)
    }

    /// Provider text: TEXT, or a UTF-8 BLOB when it holds a NUL (``BillingStore/bind(_:)``).
    mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            let hasNUL = utf8.count > 0 && memchr(utf8.baseAddress!, 0, utf8.count) != nil
            appendBytes(utf8, as: hasNUL ? .blob : .text)
        }
    }

    /// Text of billsync's own (a source's name, a status): TEXT, as a bound String is.
    mutating func append(plain text: String) {
        var text = text
        text.withUTF8 { appendBytes($0, as: .text) }
    }

    /// An amount as its decimal text (``ExactDecimal/formatted(minimumDecimals:)``).
    mutating func append(_ amount: ExactDecimal?, minimumDecimals: Int) {
        guard let amount else { return appendNull() }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { buffer in
            let count = amount.write(minimumDecimals: minimumDecimals, into: buffer.baseAddress!)
            appendBytes(UnsafeBufferPointer(rebasing: buffer[0..<count]), as: .text)
        }
    }

    private mutating func appendBytes(_ value: UnsafeBufferPointer<UInt8>, as kind: Kind) {
        kinds.append(kind)
        numbers.append(Int64(bytes.count))
        lengths.append(Int32(value.count))
        bytes.append(contentsOf: value)
    }

    /// Binds the values of `rows` to `statement` for one run: `row`'s value in `column` to the
    /// parameter `index(row, column)` (`row` counted from the range's start), or to none when
    /// that is nil. Bytes are copied to the connection's in-place binding bytes and bound
    /// there, so that a binding left after the run points at memory that is still there, as
    /// long as they fit; past that, bound as SQLite's own copy. One call per run: the next
    /// call binds over the same bytes.
    func bind(
        _ rows: Range<Int>, to statement: Statement, in db: Database,
        index: (_ row: Int, _ column: Int) -> Int32?
    ) {
        let stmt = statement.sqliteStatement
        let scratch = db.inPlaceBindingBytes
        var used = 0
        bytes.withUnsafeBufferPointer { source in
            for row in rows {
                for column in 0..<width {
                    guard let parameter = index(row - rows.lowerBound, column) else { continue }
                    let i = row * width + column
                    switch kinds[i] {
                    case .null:
                        sqlite3_bind_null(stmt, parameter)
                    case .integer:
                        sqlite3_bind_int64(stmt, parameter, numbers[i])
                    case .text, .blob:
                        let count = Int(lengths[i])
                        let at: UnsafeRawPointer
                        let destructor: sqlite3_destructor_type?
                        if used + count <= Database.inPlaceBindingCapacity {
                            if count > 0 {
                                (scratch + used).update(from: source.baseAddress! + Int(numbers[i]), count: count)
                            }
                            at = UnsafeRawPointer(scratch + used)
                            destructor = nil
                            used += count
                        } else {
                            at = UnsafeRawPointer(source.baseAddress! + Int(numbers[i]))
                            destructor = sqliteTransient
                        }
                        if kinds[i] == .text {
                            sqlite3_bind_text(
                                stmt, parameter, at.assumingMemoryBound(to: CChar.self), Int32(count), destructor)
                        } else {
                            sqlite3_bind_blob(stmt, parameter, at, Int32(count), destructor)
                        }
                    }
                }
            }
        }
    }
}

import CSQLite
import Foundation

// The few pieces of SQLite the store needs, over the C API: a connection with its prepared
// statements, rows read into values, one writer and a set of readers over one WAL file, and
// the migrations. Hot paths (usage upserts, exports) step statements themselves.

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
            sqlite3_bind_blob(stmt, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(raw.count), sqliteTransient)
        }
    }
}

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

extension SQLColumnValue {
    /// The first column of the first row, if there is a row and it is not NULL.
    static func fetchOne(_ db: Database, sql: String, arguments: [any SQLArgument] = []) throws -> Self? {
        guard let row = try Row.fetchOne(db, sql: sql, arguments: arguments) else { return nil }
        if case .null = row.values[0] { return nil }
        return row[0] as Self
    }
}

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
    }

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
            if sqlite3_get_autocommit(sqliteConnection) == 0 { _ = sqlite3_exec(sqliteConnection, "ROLLBACK", nil, nil, nil) }
            throw error
        }
        do {
            try cachedStatement(sql: "COMMIT").execute()
        } catch {
            if sqlite3_get_autocommit(sqliteConnection) == 0 { _ = sqlite3_exec(sqliteConnection, "ROLLBACK", nil, nil, nil) }
            throw error
        }
        return result
    }

    /// Hands back the page cache; the cached statements stay.
    func releaseMemory() {
        sqlite3_db_release_memory(sqliteConnection)
    }
}

/// One writer and as many readers as threads read at once, over one WAL-mode file. Writes
/// are serialized; each read sees one committed state (a read transaction).
final class DatabasePool: @unchecked Sendable {
    private let path: String
    /// The one connection every write goes through (tests trace its statements).
    let writer: Database
    private let writerLock = NSLock()
    private var idleReaders: [Database] = []
    private let readersLock = NSLock()
    private let setUp: (Database) throws -> Void

    private let checkpointer: Checkpointer

    /// `setUp` runs on every connection as it opens (pragmas).
    init(path: String, setUp: @escaping (Database) throws -> Void) throws {
        self.path = path
        self.setUp = setUp
        writer = try Database(path: path)
        try writer.execute(sql: "PRAGMA journal_mode = WAL")
        try setUp(writer)
        checkpointer = Checkpointer {
            let db = try Database(path: path)
            try setUp(db)
            return db
        }
        // Replaces SQLite's own checkpoint-on-commit: see `Checkpointer`.
        sqlite3_wal_hook(writer.sqliteConnection, walHook, Unmanaged.passUnretained(checkpointer).toOpaque())
    }

    deinit {
        sqlite3_wal_hook(writer.sqliteConnection, nil, nil)
        checkpointer.close()
    }

    /// Rebuilds the file without its free pages (outside any transaction).
    func vacuum() throws {
        writerLock.lock()
        defer { writerLock.unlock() }
        try writer.execute(sql: "VACUUM")
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        writerLock.lock()
        defer { writerLock.unlock() }
        return try writer.inTransaction("BEGIN IMMEDIATE", body)
    }

    private let commitQueue = DispatchQueue(label: "billsync.store.commits")
    /// Writes handed to ``writeLater(_:)`` and not yet run, oldest first.
    private var queued: [QueuedWrite] = []
    private var draining = false
    private let queueLock = NSLock()
    /// At most this many queued writes share one transaction.
    static let maxGroup = 8
    /// Transactions the commit queue has committed (under `writerLock`).
    private(set) var queuedTransactions = 0

    /// Runs `body` on the pool's commit queue, in the order handed over; the caller goes on
    /// and waits on the returned commit when it needs the outcome. Writes that queue up while
    /// one commits run together in the next transaction: they share one commit (one write of
    /// the pages they all touch, such as the sources' cursors), and each is reported only once
    /// the transaction that holds it is committed. Should one of them throw (or the transaction
    /// fail to commit), the whole transaction is rolled back and each write of the group runs
    /// again in a transaction of its own, in order: the one that threw keeps nothing, the others
    /// are kept. A body may
    /// therefore run twice, and must do nothing but write (each here only writes a page).
    func writeLater<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) -> PendingCommit<T> {
        let pending = PendingCommit<T>()
        let box = ResultBox<T>()
        let write = QueuedWrite(
            run: { db in
                do {
                    box.value = try body(db)
                    return nil
                } catch {
                    return error
                }
            },
            finish: { failure in pending.finish(failure.map { .failure($0) } ?? .success(box.value!)) })
        queueLock.lock()
        queued.append(write)
        let start = !draining
        draining = true
        queueLock.unlock()
        if start { commitQueue.async { [self] in drain() } }
        return pending
    }

    private func drain() {
        while true {
            queueLock.lock()
            let group = Array(queued.prefix(Self.maxGroup))
            queued.removeFirst(group.count)
            if group.isEmpty { draining = false }
            queueLock.unlock()
            if group.isEmpty { return }
            commit(group)
        }
    }

    /// One transaction for `group`; if that does not commit, each write alone instead.
    private func commit(_ group: [QueuedWrite]) {
        writerLock.lock()
        var failures: [(any Error)?]
        if group.count > 1, let shared = commitTogether(group) {
            failures = shared
        } else {
            failures = group.map { commitAlone($0) }
        }
        writerLock.unlock()
        for (write, failure) in zip(group, failures) { write.finish(failure) }
    }

    /// Runs the whole group in one transaction. Returns nil when it did not commit — a write
    /// threw, SQLite itself ended the transaction (a full disk, an I/O error), or the commit
    /// failed — and then nothing of the group was kept. Under `writerLock`.
    private func commitTogether(_ group: [QueuedWrite]) -> [(any Error)?]? {
        struct GroupUndone: Error {}
        do {
            try writer.inTransaction("BEGIN IMMEDIATE") { db in
                for write in group where write.run(db) != nil || sqlite3_get_autocommit(db.sqliteConnection) != 0 {
                    throw GroupUndone()
                }
            }
            queuedTransactions += 1
            return group.map { _ in nil }
        } catch {
            return nil
        }
    }

    /// One write in a transaction of its own; returns what stopped it. Under `writerLock`.
    private func commitAlone(_ write: QueuedWrite) -> (any Error)? {
        do {
            try writer.inTransaction("BEGIN IMMEDIATE") { db in
                if let failure = write.run(db) { throw failure }
                if sqlite3_get_autocommit(db.sqliteConnection) != 0 {
                    throw SQLiteError(code: SQLITE_ABORT, message: "the transaction was rolled back", sql: nil)
                }
            }
            queuedTransactions += 1
            return nil
        } catch {
            return error
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        let reader = try takeReader()
        defer {
            readersLock.lock()
            idleReaders.append(reader)
            readersLock.unlock()
        }
        return try reader.inTransaction("BEGIN DEFERRED", body)
    }

    private func takeReader() throws -> Database {
        readersLock.lock()
        if let reader = idleReaders.popLast() {
            readersLock.unlock()
            return reader
        }
        readersLock.unlock()
        let reader = try Database(path: path)
        try setUp(reader)
        try reader.execute(sql: "PRAGMA query_only = 1")
        return reader
    }

    /// Frees the writer's page cache and closes the idle readers and the checkpointer's connection.
    func releaseMemory() {
        writerLock.lock()
        writer.releaseMemory()
        writerLock.unlock()
        readersLock.lock()
        idleReaders.removeAll()
        readersLock.unlock()
        checkpointer.releaseMemory()
    }
}

/// Called by SQLite after each commit of the writer, with the log's length in pages.
private let walHook: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = { context, db, _, frames in
    Unmanaged<Checkpointer>.fromOpaque(context!).takeUnretainedValue().committed(frames: frames, writer: db)
    return SQLITE_OK
}

/// Copies the write-ahead log back into the database file on a connection and thread of its
/// own, so that no commit waits for it. SQLite would otherwise do it inside the commit that
/// takes the log past 1,000 pages, and during a backfill that copying is a tenth of all the
/// work, on the one path every page's commit has to pass. The checkpoints are SQLite's
/// PASSIVE kind: they copy what no reader still needs and never block a writer or a reader.
/// Should the log still reach eight times that length (readers holding old snapshots, a
/// checkpointer starved of time), the writer checkpoints itself after its commit, as SQLite
/// would have.
final class Checkpointer: @unchecked Sendable {
    static let frames: Int32 = 1000
    private let condition = NSCondition()
    private let open: () throws -> Database
    private var connection: Database?
    private var due = false
    private var closed = false
    private var running = false
    private var checkpointing = false

    init(open: @escaping () throws -> Database) {
        self.open = open
    }

    /// A checkpoint is asked for each time the log has grown by another 1,000 pages.
    private var mark = Checkpointer.frames
    private var lastFrames: Int32 = 0

    /// Called on the writer's thread after each of its commits.
    func committed(frames: Int32, writer: OpaquePointer?) {
        if frames < lastFrames { mark = Self.frames }   // the log started over
        lastFrames = frames
        guard frames >= mark else { return }
        mark = frames + Self.frames
        if frames >= 8 * Self.frames {
            sqlite3_wal_checkpoint_v2(writer, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            return
        }
        condition.lock()
        due = true
        if !running && !closed {
            running = true
            let thread = Thread { [self] in loop() }
            thread.name = "billsync-checkpoint"
            thread.stackSize = 1 << 20
            thread.start()
        }
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        condition.lock()
        while true {
            while !due && !closed { condition.wait() }
            if !due { break }
            due = false
            if connection == nil { connection = try? open() }
            let db = connection
            checkpointing = true
            condition.unlock()
            if let db {
                sqlite3_wal_checkpoint_v2(db.sqliteConnection, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            }
            condition.lock()
            checkpointing = false
        }
        running = false
        connection = nil
        condition.unlock()
    }

    /// Closes the connection unless a checkpoint is using it (between polls); the next
    /// checkpoint opens another.
    func releaseMemory() {
        condition.lock()
        if !checkpointing { connection = nil }
        condition.unlock()
    }

    /// Lets the thread end after the checkpoint in hand.
    func close() {
        condition.lock()
        closed = true
        condition.signal()
        condition.unlock()
    }
}

/// A write waiting on the commit queue: `run` does it inside the group's transaction and
/// returns what it threw; `finish` reports it once the transaction is over (with the error
/// that undid it, if any).
private struct QueuedWrite {
    let run: (Database) -> (any Error)?
    let finish: ((any Error)?) -> Void
}

/// What a queued write returned, kept until its transaction commits.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

/// A write handed to the store's commit queue.
public final class PendingCommit<Value: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<Value, any Error>?

    func finish(_ result: Result<Value, any Error>) {
        condition.lock()
        self.result = result
        condition.broadcast()
        condition.unlock()
    }

    /// Returns once the write is committed, with what it returned; throws what stopped it
    /// (then nothing of it is kept).
    @discardableResult
    public func wait() throws -> Value {
        condition.lock()
        while result == nil { condition.wait() }
        let result = self.result!
        condition.unlock()
        return try result.get()
    }
}

/// Named migrations applied once each, in order, each in its own transaction, recorded in the
/// file (in the table the store has always kept them in).
struct DatabaseMigrator {
    private var migrations: [(String, (Database) throws -> Void)] = []

    mutating func registerMigration(_ identifier: String, _ body: @escaping (Database) throws -> Void) {
        migrations.append((identifier, body))
    }

    /// Applies the migrations the file has not had; returns their identifiers, in order.
    @discardableResult
    func migrate(_ pool: DatabasePool) throws -> [String] {
        try pool.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
        }
        let applied = Set(try pool.write { db in
            try Row.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations").map { $0[0] as String }
        })
        var now: [String] = []
        for (identifier, body) in migrations where !applied.contains(identifier) {
            try pool.write { db in
                try body(db)
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)", arguments: [identifier])
            }
            now.append(identifier)
        }
        return now
    }
}

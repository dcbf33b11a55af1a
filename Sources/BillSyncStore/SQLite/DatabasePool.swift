import CSQLite
import Foundation

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
        try reader.execute(sql: "PRAGMA cache_size = -\(Self.readerCacheKiB)")
        return reader
    }

    /// A reader's page cache, KiB. Readers look rows up by key or scan them once in key order
    /// (exports, reconciliation, the month-end checks over every source), so a larger cache
    /// only fills with pages read once: with 512 KiB, peak memory grew with the number of
    /// sources the month-end checks read (the writer keeps the larger cache its upserts use).
    static let readerCacheKiB = 128

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

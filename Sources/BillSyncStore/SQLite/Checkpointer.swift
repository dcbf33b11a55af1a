import CSQLite
import Foundation

/// Called by SQLite after each commit of the writer, with the log's length in pages.
let walHook: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = {
    context, db, _, frames in
    Unmanaged<Checkpointer>.fromOpaque(context!).takeUnretainedValue().committed(frames: frames, writer: db)
    return SQLITE_OK
}

/// Copies the write-ahead log back into the database file on a connection and thread of its
/// own, so that no commit waits for it. SQLite would otherwise do it inside the commit that
/// takes the log past 1,000 pages, and during a backfill that copying is a tenth of all the
/// work, on the one path every page's commit has to pass. The checkpoints are SQLite's
/// PASSIVE kind: they copy what no reader still needs and never block a writer or a reader.
/// Should the log still reach eight times that length (readers holding old snapshots, a
/// checkpointer starved of time, or, in a long backfill, simply because a log that commits keep
/// growing starts over only after a checkpoint has caught up with it), the writer checkpoints
/// itself after its commit, as SQLite would have.
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
        if frames < lastFrames { mark = Self.frames }  // the log started over
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
                Self.syncDatabaseFile(db)
            }
            condition.lock()
            checkpointing = false
        }
        running = false
        connection = nil
        condition.unlock()
    }

    /// Writes the pages a checkpoint copied into the database file through to the disk. SQLite
    /// does so only when the checkpoint reached the end of the log, which while commits go on
    /// it seldom does; the writer's own checkpoint (at eight times the length) would then have
    /// to write all of them at once, on the path every commit waits behind.
    static func syncDatabaseFile(_ db: Database) {
        var file: UnsafeMutablePointer<sqlite3_file>?
        guard sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_FILE_POINTER, &file) == SQLITE_OK,
            let file, let sync = file.pointee.pMethods?.pointee.xSync
        else { return }
        _ = sync(file, SQLITE_SYNC_NORMAL)
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

@testable import BillSyncStore
import BillSyncCore
import Foundation
import Testing

/// The store's own SQLite layer: migrations on files written by earlier versions, failed
/// writes rolled back, readers seeing only committed states, clear errors.
@Suite struct StoreTests {
    func tempPath() -> String {
        let dir = FileManager.default.temporaryDirectory.path + "/bs-store-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir + "/billsync.sqlite3"
    }

    func invoice(_ id: String, lines: [String]) throws -> Invoice {
        Invoice(id: id, number: "N-\(id)", status: .open, providerStatus: "unpaid", currency: "USD",
                periodStart: 1_790_812_800, periodEnd: 1_793_491_200, issuedOn: 1_793_491_200,
                total: try ExactDecimal(parsing: "12.34"),
                lineItems: try lines.enumerated().map { i, text in
                    LineItem(lineNo: i + 1, lineType: "cpu", category: .usage, description: text, amount: try ExactDecimal(parsing: i == 0 ? "12.34" : "0"))
                })
    }

    @Test func aFileMissingTheLatestMigrationGetsItAndKeepsItsRows() throws {
        let path = tempPath()
        do {
            let store = try BillingStore(path: path)
            try store.commitInvoicePage(source: "s", provider: "northflank", invoices: [invoice("a", lines: ["one", "nul \u{0} two"])],
                                        position: nil, seenAt: 100, syncDay: 0)
            // As a file written before the last migration: its record gone, its table as v1 made it.
            try store.pool.write { db in
                try db.execute(sql: """
                    DELETE FROM grdb_migrations WHERE identifier = 'v4-line-items-by-rowid';
                    CREATE TABLE old_lines AS SELECT source, invoice_id, line_no, line_type, category, description, quantity,
                        unit, unit_price, amount, resource_id, attributes FROM line_items;
                    DROP TABLE line_items;
                    ALTER TABLE old_lines RENAME TO line_items;
                    """)
            }
        }
        let store = try BillingStore(path: path)
        let applied = try store.pool.read { db in try Row.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier").map { $0[0] as String } }
        #expect(applied == ["v1-sources-invoices-usage", "v2-export-dirty", "v3-usage-total", "v4-line-items-by-rowid"])
        let columns = try store.pool.read { db in try Row.fetchAll(db, sql: "SELECT name FROM pragma_table_info('line_items')").map { $0[0] as String } }
        #expect(columns.first == "id")
        var descriptions: [String] = []
        try store.forEachLineItemRow { descriptions.append($0.description) }
        #expect(descriptions == ["one", "nul \u{0} two"])
    }

    @Test func aWriteThatThrowsLeavesNothingAndTheNextWriteWorks() throws {
        struct Boom: Error {}
        let store = try BillingStore(path: tempPath())
        #expect(throws: Boom.self) {
            try store.pool.write { db in
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?)", arguments: ["k", "lost"])
                throw Boom()
            }
        }
        #expect(try store.meta("k") == nil)
        try store.setMeta("k", "kept")
        #expect(try store.meta("k") == "kept")
    }

    @Test func queuedCommitsRunInOrderAndAFailedOneReportsItsErrorAndKeepsNothing() throws {
        struct Boom: Error {}
        let store = try BillingStore(path: tempPath())
        let commits = (0..<50).map { i in
            store.pool.writeLater { db -> Int in
                // Each reads what the one before it wrote: they run in the order handed over.
                let last = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'last'")
                if i > 0 && i != 21 && last != String(i == 21 + 1 ? 20 : i - 1) { throw StoreError("out of order: \(i) after \(last ?? "nothing")") }
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('last', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                               arguments: [String(i)])
                if i == 21 { throw Boom() }   // after its write: that write must not be kept
                return i * 2
            }
        }
        for (i, commit) in commits.enumerated() {
            if i == 21 {
                #expect(throws: Boom.self) { try commit.wait() }
            } else {
                #expect(try commit.wait() == i * 2)
            }
        }
        #expect(try store.meta("last") == "49")
    }

    @Test func theLogIsCopiedBackIntoTheFileOffTheCommitPath() throws {
        let path = tempPath()
        let store = try BillingStore(path: path)
        let blob = String(repeating: "x", count: 6000)   // two pages a row
        func size(_ file: String) -> Int { (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0 }
        // 700 commits of two or three pages: past the 1,000-page mark that starts a checkpoint,
        // short of the 8,000 at which the writer would checkpoint itself. Until a checkpoint
        // copies them, new pages live only in the log, and the database file does not grow.
        for i in 0..<700 {
            try store.pool.write { db in
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?)", arguments: ["k\(i)", blob])
            }
        }
        let deadline = Date().addingTimeInterval(10)
        while size(path) < 1000 * 4096 && Date() < deadline { usleep(20_000) }
        #expect(size(path) >= 1000 * 4096, "database file \(size(path)) bytes, log \(size(path + "-wal")) bytes")
        let count = try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM meta WHERE key LIKE 'k%'") }
        #expect(count == 700)
    }

    @Test func aReaderSeesTheStateCommittedBeforeItStarted() throws {
        let store = try BillingStore(path: tempPath())
        try store.setMeta("k", "before")
        let seen: String? = try store.pool.read { db in
            let first = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'k'")
            try store.setMeta("k", "after")   // committed by the writer while this read is open
            let second = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'k'")
            #expect(first == second)
            return second
        }
        #expect(seen == "before")
        #expect(try store.meta("k") == "after")
    }

    @Test func aFileThatIsNotADatabaseSaysSo() throws {
        let path = tempPath()
        try Data("this is not SQLite\n".utf8 + [UInt8](repeating: 0x41, count: 4096)).write(to: URL(fileURLWithPath: path))
        do {
            _ = try BillingStore(path: path)
            Issue.record("opened a file that is not a database")
        } catch {
            #expect("\(error)" == "cannot open the state database \(path): SQLite error 26: file is not a database - while executing `PRAGMA journal_mode = WAL`")
        }
    }
}

import BillSyncConfig
import BillSyncCore
import BillSyncSimulator
import BillSyncTestSupport
import CSQLite
import Foundation
import Logging
import Testing

@testable import BillSyncEngine
@testable import BillSyncStore

/// Every statement the store's writer runs, in order, from SQLite's own trace.
final class StatementTrace: @unchecked Sendable {
    private let lock = NSLock()
    private var statements: [String] = []

    func add(_ sql: String) { lock.withLock { statements.append(sql) } }
    var all: [String] { lock.withLock { statements } }

    /// Starts tracing `store`'s writer connection.
    func attach(to store: BillingStore) {
        let callback:
            @convention(c) (UInt32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) ->
                Int32 = {
                    type, context, statement, text in
                    guard type == UInt32(SQLITE_TRACE_STMT), let context, let text else { return 0 }
                    var sql = String(cString: text.assumingMemoryBound(to: CChar.self))
                    // An invoice's row with its values bound, to tell which invoice it is.
                    if sql.contains("INSERT INTO invoices"),
                        let expanded = sqlite3_expanded_sql(OpaquePointer(statement))
                    {
                        sql = String(cString: expanded)
                        sqlite3_free(expanded)
                    }
                    Unmanaged<StatementTrace>.fromOpaque(context).takeUnretainedValue().add(sql)
                    return 0
                }
        sqlite3_trace_v2(
            store.pool.writer.sqliteConnection, UInt32(SQLITE_TRACE_STMT), callback,
            Unmanaged.passUnretained(self).toOpaque())
    }

    /// The statements of each committed transaction, in commit order.
    var committedTransactions: [[String]] {
        var out: [[String]] = []
        var current: [String]?
        for sql in all {
            let head = sql.trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
            if head.hasPrefix("BEGIN") {
                current = []
            } else if head.hasPrefix("COMMIT") {
                if let current { out.append(current) }
                current = nil
            } else if head.hasPrefix("ROLLBACK") {
                current = nil
            } else {
                current?.append(sql)
            }
        }
        return out
    }
}

/// A page's rows and the position that follows them commit in one transaction: read from the
/// statements SQLite ran, over a real sync of each provider from the simulator.
@Suite struct PageCommitTests {
    enum Kind { case usageRow, usagePosition, invoiceRow, walkPosition, other }

    static func kind(_ sql: String) -> Kind {
        if sql.contains("INSERT INTO usage_hours") { return .usageRow }
        if sql.contains("UPDATE source_state SET usage_window_start") { return .usagePosition }
        if sql.contains("INSERT INTO invoices") { return .invoiceRow }
        if sql.contains("UPDATE source_state SET walk_active") { return .walkPosition }
        return .other
    }

    /// Syncs `sourceTOML` from a fresh simulator into a fresh store with the writer traced.
    func tracedSync(_ sourceTOML: String, configure: (inout SimulatorOptions) -> Void = { _ in })
        throws -> (trace: StatementTrace, report: SyncReport, store: BillingStore)
    {
        let sim = try SimHarness(configure)
        let dir = FileManager.default.temporaryDirectory.path + "/billsync-engine-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let config = try ConfigLoader.parse(
            """
            state_dir = "\(dir)"
            [[sources]]
            base_url = "\(sim.base)"
            rate_limit = "none"
            \(sourceTOML)
            """, path: dir + "/billsync.toml")
        let store = try BillingStore(path: config.databasePath)
        let trace = StatementTrace()
        trace.attach(to: store)
        let sync = SourceSync(
            source: config.sources[0], config: config, store: store,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), stop: StopFlag(),
            clock: SyncClock(fixed: sim.options.now))
        return (trace, sync.run(), store)
    }

    /// In every committed transaction, each position is preceded by rows of its own page since
    /// the position before it, and rows of a page are followed by their position in the same
    /// transaction. `rowsWithoutPosition` allows rows that carry no position (invoice details).
    func expectPagesWhole(_ transactions: [[String]], rows: Kind, position: Kind, rowsWithoutPosition: Bool = false)
        -> Int
    {
        var pages = 0
        for (index, statements) in transactions.enumerated() {
            var rowsSincePosition = 0
            for kind in statements.map(Self.kind) {
                if kind == rows { rowsSincePosition += 1 }
                if kind == position {
                    #expect(rowsSincePosition > 0, "transaction \(index): a position committed without its page's rows")
                    rowsSincePosition = 0
                    pages += 1
                }
            }
            if !rowsWithoutPosition {
                #expect(
                    rowsSincePosition == 0,
                    "transaction \(index): \(rowsSincePosition) rows committed without the position after them")
            }
        }
        return pages
    }

    @Test func everyUsagePageCommitsWithTheWindowPositionAfterIt() throws {
        let (trace, report, _) = try tracedSync(
            """
            name = "nf"
            provider = "northflank"
            api_key = "nf-sim-key"
            usage_start = "2026-10-01"
            """)
        #expect(report.succeeded, "\(report.error ?? "")")
        #expect(report.usageHours == 744)
        let transactions = trace.committedTransactions
        let pages = expectPagesWhole(transactions, rows: .usageRow, position: .usagePosition)
        #expect(pages == 8, "744 hours, one window, 100 hours a page")
        #expect(expectPagesWhole(transactions, rows: .invoiceRow, position: .walkPosition) >= 1)
        // A statement upserts several hours, each a `(?1, …)` row of its VALUES.
        let usageRows = transactions.flatMap { $0 }.filter { Self.kind($0) == .usageRow }
        #expect(usageRows.map { $0.components(separatedBy: "(?1, ").count - 1 }.reduce(0, +) == 744)
        #expect(usageRows.count == 24, "100 hours of one month are upserted 64, 32 and 4 at a time")
    }

    /// The invoice id of an expanded `INSERT INTO invoices (source, invoice_id, …) VALUES ('s', 'id', …)`.
    static func invoiceID(_ sql: String) -> String? {
        guard let values = sql.range(of: "VALUES") else { return nil }
        let quoted = sql[values.upperBound...].split(separator: "'", omittingEmptySubsequences: false)
        return quoted.count > 3 ? String(quoted[3]) : nil
    }

    @Test func everyInvoiceListPageCommitsWithTheWalkPositionAfterIt() throws {
        let (trace, report, _) = try tracedSync(
            """
            name = "ts"
            provider = "typesense-cloud"
            api_key = "ts-sim-key"
            """, configure: { $0.typesenseInvoices = 120 })
        #expect(report.succeeded, "\(report.error ?? "")")
        #expect(report.invoicesNew == 120)
        // Details commit in batches of their own while the next are fetched, so a page's rows may
        // commit before its position, never after: at the k-th position, the first 50·k invoices
        // of the list (newest first) are all committed.
        let list = 120
        var committed = Set<String>()
        var positions = 0
        for statements in trace.committedTransactions {
            for sql in statements {
                if Self.kind(sql) == .invoiceRow, let id = Self.invoiceID(sql) { committed.insert(id) }
                if Self.kind(sql) == .walkPosition {
                    positions += 1
                    #expect(
                        committed.count >= min(list, 50 * positions),
                        "page \(positions)'s position committed with \(committed.count) invoices stored")
                }
            }
        }
        #expect(positions == 3, "120 invoices in pages of 50")
        #expect(committed.count == 120)
    }
}

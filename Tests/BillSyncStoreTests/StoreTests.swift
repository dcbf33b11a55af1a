import BillSyncCore
import Foundation
import Testing

@testable import BillSyncStore

/// The store's own SQLite layer: migrations on files written by earlier versions, failed
/// writes rolled back, readers seeing only committed states, clear errors.
@Suite struct StoreTests {
    func tempPath() -> String {
        let dir = FileManager.default.temporaryDirectory.path + "/bs-store-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir + "/billsync.sqlite3"
    }

    func invoice(_ id: String, lines: [String]) throws -> Invoice {
        Invoice(
            id: id, number: "N-\(id)", status: .open, providerStatus: "unpaid", currency: "USD",
            periodStart: 1_790_812_800, periodEnd: 1_793_491_200, issuedOn: 1_793_491_200,
            total: try ExactDecimal(parsing: "12.34"),
            lineItems: try lines.enumerated().map { i, text in
                LineItem(
                    lineNo: i + 1, lineType: "cpu", category: .usage, description: text,
                    amount: try ExactDecimal(parsing: i == 0 ? "12.34" : "0"))
            })
    }

    @Test func aFileMissingTheLatestMigrationGetsItAndKeepsItsRows() throws {
        let path = tempPath()
        do {
            let store = try BillingStore(path: path)
            try store.commitInvoicePage(
                source: "s", provider: "northflank", invoices: [invoice("a", lines: ["one", "nul \u{0} two"])],
                position: nil, seenAt: 100, syncDay: 0)
            // As a file written before the last migration: its record gone, its table as v1 made it.
            try store.pool.write { db in
                try db.execute(
                    sql: """
                        DELETE FROM grdb_migrations WHERE identifier = 'v4-line-items-by-rowid';
                        CREATE TABLE old_lines AS SELECT source, invoice_id, line_no, line_type, category, description, quantity,
                            unit, unit_price, amount, resource_id, attributes FROM line_items;
                        DROP TABLE line_items;
                        ALTER TABLE old_lines RENAME TO line_items;
                        """)
            }
        }
        let store = try BillingStore(path: path)
        let applied = try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier").map {
                $0[0] as String
            }
        }
        #expect(
            applied == [
                "v1-sources-invoices-usage", "v10-usage-fine-amounts-as-blobs", "v2-export-dirty", "v3-usage-total",
                "v4-line-items-by-rowid",
                "v5-usage-amounts-as-integers", "v6-no-random-secondary-indexes", "v7-invoice-fallbacks",
                "v8-accrual-months", "v9-budgets-and-spikes",
            ])
        let columns = try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name FROM pragma_table_info('line_items')").map { $0[0] as String }
        }
        #expect(columns.first == "id")
        var descriptions: [String] = []
        try store.forEachLineItemRow { descriptions.append($0.description) }
        #expect(descriptions == ["one", "nul \u{0} two"])
    }

    func hour(_ start: Int64, _ amounts: [String]) throws -> UsageHour {
        let a = try amounts.map { try ExactDecimal(parsing: $0) }
        return UsageHour(
            hourStart: start, currency: "USD", paasTotal: a[0], cpu: a[1], memory: a[2], storage: a[3], gpu: a[4],
            byocTotal: a[5], byocVCPU: a[6], byocMemory: a[7], byocGPUMemory: a[8], byocCluster: a[9])
    }

    /// Each stored row as the CSV export reads it: hour, the amounts' text (total last), and
    /// SQLite's storage class of each amount column.
    func usageRows(_ store: BillingStore) throws -> [(Int64, [String], [String])] {
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 48)
        defer { buffer.deallocate() }
        var rows: [(Int64, [String], [String])] = []
        try store.forEachRawUsageRow(from: 0, to: Int64.max) { row in
            let texts = (Int32(4)...14).map { String(decoding: row.raw.amount($0, buffer), as: UTF8.self) }
            // The exports' other way in: written in place, into exactly the room it asks for.
            let written: [String] = (Int32(4)...14).map { column in
                let room = row.raw.amountCapacity(column)
                let out = UnsafeMutablePointer<UInt8>.allocate(capacity: room)
                defer { out.deallocate() }
                return String(
                    decoding: UnsafeBufferPointer(start: out, count: row.raw.writeAmount(column, into: out)),
                    as: UTF8.self)
            }
            #expect(written == texts)
            rows.append((row.int64(.hourStart), texts, []))
        }
        let types = try store.pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT typeof(paas_total), typeof(cpu), typeof(memory), typeof(storage), typeof(gpu), typeof(byoc_total),
                        typeof(byoc_vcpu), typeof(byoc_memory), typeof(byoc_gpu_memory), typeof(byoc_cluster), typeof(total)
                    FROM usage_hours ORDER BY source, hour_start
                    """
            ).map { r in (0..<11).map { r[$0] as String } }
        }
        return zip(rows, types).map { ($0.0, $0.1, $1) }
    }

    @Test func usageAmountsAreStoredAsIntegersWhereTheyFitAndReadBackExactly() throws {
        let store = try BillingStore(path: tempPath())
        try store.commitUsagePage(
            source: "nf", provider: "northflank",
            hours: [
                try hour(
                    3600,
                    [
                        "3.32102287", "0.10", "0", "12", "-0.5", "1e3", "0.1234567800", "92233720368.54775807", "0.001",
                        "0.00000001",
                    ]),
                // Nine decimals; past 64 bits at eight; a quadrillion less a hundred-millionth.
                try hour(
                    7200,
                    [
                        "0.123456789", "92233720368.54775808", "999999999999999.99999999", "0", "0", "0", "0", "0", "0",
                        "0",
                    ]),
            ], position: .windowDone(doneUntil: 10800))
        let rows = try usageRows(store)
        #expect(rows.count == 2)
        #expect(rows[0].0 == 3600)
        #expect(
            rows[0].1 == [
                "3.32102287", "0.10", "0.00", "12.00", "-0.50", "1000.00", "0.12345678", "92233720368.54775807",
                "0.001", "0.00000001", "1003.32102287",
            ])
        #expect(rows[0].2 == Array(repeating: "integer", count: 11))
        #expect(
            rows[1].1 == [
                "0.123456789", "92233720368.54775808", "999999999999999.99999999", "0.00", "0.00", "0.00", "0.00",
                "0.00", "0.00", "0.00", "0.123456789",
            ])
        #expect(rows[1].2 == ["blob", "blob", "blob"] + Array(repeating: "integer", count: 7) + ["blob"])
        // Added up exactly across both forms (cpu and memory, the first two components).
        let summary = try store.usageSummary(source: "nf", from: 0, to: 10800)
        #expect(summary.amounts[0].description == "92233720368.64775808")
        #expect(summary.amounts[1].description == "999999999999999.99999999")
        // The same values again change nothing and mark nothing for export.
        try store.clearExportMarks(try store.exportMarks())
        try store.commitUsagePage(
            source: "nf", provider: "northflank",
            hours: [
                try hour(
                    7200,
                    [
                        "0.123456789", "92233720368.54775808", "999999999999999.99999999", "0", "0", "0", "0", "0", "0",
                        "0",
                    ])
            ], position: .windowDone(doneUntil: 10800))
        #expect(try store.exportMarks().isEmpty)
    }

    /// A page's hours go into SQLite several at a time, each statement within one month: every
    /// hour is stored with its own amounts, and a page read again marks only the months whose
    /// hours it changed.
    @Test func aPageOfManyHoursUpsertsEachAndMarksOnlyTheMonthsItChanged() throws {
        let store = try BillingStore(path: tempPath())
        let october = UTC.days(year: 2026, month: 10, day: 1) * 86_400
        // 150 hours from 2026-09-28T00:00Z: 72 in September, 78 in October. Every third hour has
        // an amount finer than 10^-8 (stored as text), so the text slots of one statement are
        // all in use at once.
        func amounts(_ i: Int, _ changed: Bool = false) -> [String] {
            let fine = i % 3 == 0 ? "0.0000000\(i % 9 + 1)7" : "0.\(i % 100)"
            return ["\(i).25", changed ? "9.99" : "\(i)", fine, "0", "0", "0", "0", "0", "0", "0.5"]
        }
        let start = october - 72 * 3_600
        let page = try (0..<150).map { try hour(start + Int64($0) * 3_600, amounts($0)) }
        try store.commitUsagePage(
            source: "nf", provider: "northflank", hours: page, position: .windowDone(doneUntil: start + 150 * 3_600))
        let rows = try usageRows(store)
        #expect(rows.count == 150)
        for (i, row) in rows.enumerated() {
            let expected = try hour(0, amounts(i))
            #expect(row.0 == start + Int64(i) * 3_600)
            #expect(row.1[0] == expected.paasTotal.formatted(minimumDecimals: 2), "hour \(i)")
            #expect(row.1[2] == expected.memory.formatted(minimumDecimals: 2), "hour \(i)")
            #expect(row.1[10] == expected.total.formatted(minimumDecimals: 2), "hour \(i)")
        }
        #expect(Set(try store.exportMarks().keys) == ["usage:2026-09", "usage:2026-10"])
        // Read again with one October hour changed: only October is marked.
        try store.clearExportMarks(try store.exportMarks())
        var again = page
        again[100] = try hour(page[100].hourStart, amounts(100, true))
        try store.commitUsagePage(
            source: "nf", provider: "northflank", hours: again, position: .windowDone(doneUntil: start + 150 * 3_600))
        #expect(Set(try store.exportMarks().keys) == ["usage:2026-10"])
        #expect(try usageRows(store)[100].1[1] == "9.99")
        // An hour twice in one page: the later one is kept, as row by row.
        try store.commitUsagePage(
            source: "nf", provider: "northflank", hours: [again[5], try hour(again[5].hourStart, amounts(5, true))],
            position: .windowDone(doneUntil: start + 150 * 3_600))
        #expect(try usageRows(store)[5].1[1] == "9.99")
    }

    /// The sums that reconciliation and accruals use, over amounts stored as integers and as
    /// text (finer than 10^-8, or past 64 bits), and over integer sums that overflow 64 bits.
    @Test func usageSumsAreExactOverIntegerAndTextAmounts() throws {
        let store = try BillingStore(path: tempPath())
        let values: [[String]] = [
            ["3.32102287", "0.0000000026", "92233720368.54775807", "1", "0", "0", "0", "0", "0", "0"],
            ["0.00000001", "0.000000001", "92233720368.54775807", "-0.5", "0", "0", "0", "0", "0", "2.9e-9"],
            ["1.5", "2", "0.00000001", "0", "0", "0", "0", "0", "0", "0.1234567891"],
        ]
        try store.commitUsagePage(
            source: "nf", provider: "northflank",
            hours: try values.enumerated().map { try hour(Int64($0.offset + 1) * 3600, $0.element) },
            position: .windowDone(doneUntil: 14400))
        try store.commitUsagePage(
            source: "other", provider: "northflank", hours: [try hour(3600, Array(repeating: "7", count: 10))],
            position: .windowDone(doneUntil: 7200))
        let summary = try store.usageSummary(source: "nf", from: 0, to: 14400)
        #expect(summary.hours == 3 && summary.firstHour == 3600 && summary.lastHour == 10800)
        #expect(summary.currency == "USD")
        var expected = [ExactDecimal](repeating: .zero, count: UsageComponents.all.count)
        for row in values {
            let h = try hour(0, row)
            let byColumn: [String: ExactDecimal] = [
                "paas_total": h.paasTotal, "cpu": h.cpu, "memory": h.memory, "storage": h.storage, "gpu": h.gpu,
                "byoc_total": h.byocTotal, "byoc_vcpu": h.byocVCPU, "byoc_memory": h.byocMemory,
                "byoc_gpu_memory": h.byocGPUMemory, "byoc_cluster": h.byocCluster,
            ]
            for (i, component) in UsageComponents.all.enumerated() { expected[i] += byColumn[component.column]! }
        }
        #expect(summary.amounts == expected)
        let cpu = UsageComponents.all.firstIndex { $0.column == "cpu" }!
        let memory = UsageComponents.all.firstIndex { $0.column == "memory" }!
        #expect(summary.amounts[cpu].description == "2.0000000036")
        #expect(summary.amounts[memory].description == "184467440737.09551615", "past 64 bits of 10^-8")
        #expect(try store.usageSummary(source: "nf", from: 7200, to: 10800).hours == 1)
        #expect(try store.usageSummary(source: "none", from: 0, to: 14400) == UsageSummary())
    }

    @Test func storedUnitsReadBackAsTheTextOfTheirDecimal() {
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 48)
        defer { buffer.deallocate() }
        var rng = SystemRandomNumberGenerator()
        var values: [Int64] = [
            0, 1, -1, 10, 100_000_000, -100_000_000, 10_000_000, 332_102_287, 123_456_789_000, Int64.max, Int64.min,
            Int64.min + 1,
        ]
        for _ in 0..<20_000 {
            var v = Int64.random(in: Int64.min...Int64.max, using: &rng) >> Int.random(in: 0...62, using: &rng)
            if Bool.random(using: &rng) { v = v / 1000 * 1000 }
            values.append(v)
        }
        for v in values {
            let got = String(
                decoding: UnsafeBufferPointer(start: buffer, count: RawRow.writeUnits(v, into: buffer)),
                as: UTF8.self)
            #expect(got == ExactDecimal(significand: Int128(v), scale: 8).formatted(minimumDecimals: 2), "\(v)")
        }
    }

    /// The finer amounts' BLOB form: the fewest bytes, one form an amount, and back exactly.
    @Test func fineAmountsTakeTheFewestBytesAndReadBackExactly() throws {
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: UsageAmountBlob.capacity)
        defer { buffer.deallocate() }
        func form(_ text: String) throws -> [UInt8] {
            let count = UsageAmountBlob.write(try ExactDecimal(parsing: text), into: buffer)
            return Array(UnsafeBufferPointer(start: buffer, count: count))
        }
        #expect(try form("0.0000000029") == [10, 29])
        #expect(try form("0.00000000290") == [10, 29])  // trailing zeros dropped: one form
        #expect(try form("-0.0000000029") == [10, 0xE3])
        #expect(try form("0.000000000128") == [12, 0x00, 0x80])  // 128 needs a byte for its sign
        #expect(try form("-0.000000000128") == [12, 0x80])
        #expect(try form("3.3210228729") == [10, 0x07, 0xBB, 0x7B, 0xDF, 0xF9])
        var rng = SystemRandomNumberGenerator()
        for round in 0..<4_000 {
            // Every width within 64 bits, and past them.
            let small = Int64.random(in: Int64.min...Int64.max, using: &rng) >> Int64.random(in: 0...63, using: &rng)
            let significand =
                round % 2 == 0 ? Int128(small) : Int128(small) * Int128.random(in: -1_000_000...1_000_000, using: &rng)
            let amount = ExactDecimal(significand: significand, scale: Int.random(in: 0...14, using: &rng))
            let count = UsageAmountBlob.write(amount, into: buffer)
            #expect(count <= UsageAmountBlob.capacity)
            #expect(UsageAmountBlob.read(UnsafeRawBufferPointer(start: buffer, count: count)) == amount, "\(amount)")
        }
        for edge: Int128 in [0, Int128(Int64.max), Int128(Int64.min), Int128(Int64.max) + 1, Int128(Int64.min) - 1] {
            let amount = ExactDecimal(significand: edge, scale: 9)
            let count = UsageAmountBlob.write(amount, into: buffer)
            #expect(UsageAmountBlob.read(UnsafeRawBufferPointer(start: buffer, count: count)) == amount, "\(edge)")
        }
        #expect(UsageAmountBlob.read(UnsafeRawBufferPointer(start: buffer, count: 1)) == nil)
    }

    /// A store as an earlier version left it: `migration` not yet applied, after `sql`.
    func storeWritten(before migration: String, _ sql: String) throws -> String {
        let path = tempPath()
        let store = try BillingStore(path: path)
        try store.pool.write { db in
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = '\(migration)';" + sql)
        }
        return path
    }

    /// A store written before v10, with its finer amounts as decimal text: v10 stores them as
    /// BLOBs, every amount reads back as the same text, and text that is no decimal stays.
    @Test func aStoreWithFineAmountsAsTextGetsBlobsAndReadsTheSame() throws {
        let path = try storeWritten(
            before: "v10-usage-fine-amounts-as-blobs",
            """
            INSERT INTO usage_hours VALUES ('nf', 3600, 'USD', '0.1234567891', 12345678, '0.0000000029', 0, 0,
                '92233720368.54775808', 0, 0, 0, 'not a number', '92233720368.6691802691');
            """)
        let store = try BillingStore(path: path)
        let rows = try usageRows(store)
        #expect(rows.count == 1)
        #expect(
            rows[0].1 == [
                "0.1234567891", "0.12345678", "0.0000000029", "0.00", "0.00", "92233720368.54775808", "0.00", "0.00",
                "0.00", "not a number", "92233720368.6691802691",
            ])
        #expect(
            rows[0].2 == [
                "blob", "integer", "blob", "integer", "integer", "blob", "integer", "integer", "integer", "text",
                "blob",
            ])
    }

    @Test func aStoreWithUsageAsTextGetsIntegersAndTotalsAndExportsTheSameText() throws {
        // As a file written before v5 (amounts as text) and before v3 (no total) for one row.
        let path = try storeWritten(
            before: "v5-usage-amounts-as-integers",
            """
            DROP TABLE usage_hours;
            CREATE TABLE usage_hours (source TEXT NOT NULL, hour_start INTEGER NOT NULL, currency TEXT NOT NULL,
                paas_total TEXT NOT NULL, cpu TEXT NOT NULL, memory TEXT NOT NULL, storage TEXT NOT NULL, gpu TEXT NOT NULL,
                byoc_total TEXT NOT NULL, byoc_vcpu TEXT NOT NULL, byoc_memory TEXT NOT NULL, byoc_gpu_memory TEXT NOT NULL,
                byoc_cluster TEXT NOT NULL, total TEXT, PRIMARY KEY (source, hour_start)) WITHOUT ROWID;
            INSERT INTO usage_hours VALUES ('nf', 3600, 'USD', '3.32102287', '2.48806187', '0.732961', '0.10', '0.00',
                '1.53417009', '1.2917', '0.05', '0.00', '0.19247009', NULL);
            INSERT INTO usage_hours VALUES ('nf', 7200, 'EUR', '0.123456789', '0.10', '0.00', '0.00', '0.00',
                '92233720368.54775808', '0.00', '0.00', '0.00', '0.00', '92233720368.667214869');
            """)
        let store = try BillingStore(path: path)
        let rows = try usageRows(store)
        #expect(rows.count == 2)
        #expect(
            rows[0].1 == [
                "3.32102287", "2.48806187", "0.732961", "0.10", "0.00", "1.53417009", "1.2917", "0.05", "0.00",
                "0.19247009", "4.85519296",
            ])
        #expect(rows[0].2 == Array(repeating: "integer", count: 11))
        #expect(
            rows[1].1 == [
                "0.123456789", "0.10", "0.00", "0.00", "0.00", "92233720368.54775808", "0.00", "0.00", "0.00",
                "0.00", "92233720368.667214869",
            ])
        #expect(
            rows[1].2 == ["blob"] + Array(repeating: "integer", count: 4) + ["blob"]
                + Array(repeating: "integer", count: 4) + ["blob"])
        let currencies = try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT currency FROM usage_hours ORDER BY hour_start").map { $0[0] as String }
        }
        #expect(currencies == ["USD", "EUR"])
        // The old table's pages were given back: no free page left inside the file.
        #expect(try store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA freelist_count") } == 0)
    }

    /// Invoices go in through ``EncodedInvoice`` (their values bound in place, up to 16 lines a
    /// statement): every value comes back as it went in, whatever the number of lines, with
    /// NULs, NULLs, empty text and a value larger than the connection's in-place bytes.
    @Test func invoicesAndTheirLinesReadBackAsTheyWentInWhateverTheirNumberOfLines() throws {
        let store = try BillingStore(path: tempPath())
        let huge = String(repeating: "{\"k\":\"v\"}", count: 7_000)  // 70,000 bytes
        func line(_ n: Int) throws -> LineItem {
            LineItem(
                lineNo: n, lineType: n % 3 == 0 ? "" : "type \(n)", category: n % 2 == 0 ? .usage : .tax,
                description: n == 7 ? "nul \u{0} inside" : "line \(n) ünïcødé",
                quantity: n % 4 == 0 ? nil : try ExactDecimal(parsing: "\(n).125"), unit: n % 5 == 0 ? "" : "hour",
                unitPrice: n % 6 == 0 ? nil : try ExactDecimal(parsing: "0.0000\(n)"),
                amount: try ExactDecimal(parsing: "-\(n).5"), resourceID: "r-\(n)",
                attributes: n == 20 ? huge : "{\"n\":\(n)}")
        }
        var invoices: [Invoice] = []
        for (i, count) in [0, 1, 2, 3, 15, 16, 17, 37].enumerated() {
            var invoice = try self.invoice("inv-\(i)", lines: [])
            invoice.lineItems = try (1...max(1, count)).prefix(count).map { try line($0) }
            invoice.number = i == 3 ? "nul\u{0}number" : "N-\(i)"
            invoice.status = i % 2 == 0 ? .paid : .open
            invoice.subtotal = i == 1 ? nil : try ExactDecimal(parsing: "10.1")
            invoice.fallbacks = i == 2 ? ["number", "url"] : []
            invoices.append(invoice)
        }
        var listed = try self.invoice("listed", lines: [])
        listed.lineItems = nil
        invoices.append(listed)
        // The first half through the commit queue, the rest through a direct commit.
        let outcome = try store.commitInvoicePageLater(
            source: "s", provider: "typesense-cloud", invoices: Array(invoices[..<4]), position: nil, seenAt: 100,
            syncDay: 0
        ).wait()
        #expect(outcome.new == 4)
        try store.commitInvoicePage(
            source: "s", provider: "typesense-cloud", invoices: Array(invoices[4...]), position: nil, seenAt: 100,
            syncDay: 0)
        let stored = try store.allInvoices()
        #expect(stored.count == invoices.count)
        for invoice in invoices {
            let back = try #require(stored.first { $0.invoice.id == invoice.id })
            #expect(back.provider == "typesense-cloud")
            #expect(back.invoice.number == invoice.number)
            #expect(back.invoice.status == invoice.status)
            #expect(back.invoice.subtotal == invoice.subtotal)
            #expect(back.invoice.total == invoice.total)
            #expect(back.paidOn == (invoice.status == .paid ? invoice.issuedOn : nil))
            #expect(back.invoice.lineItems == (invoice.lineItems ?? []), "\(invoice.id)")
        }
        let (types, history, fallbacks) = try store.pool.read { db in
            (
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT typeof(description) FROM line_items WHERE invoice_id = 'inv-7' ORDER BY line_no LIMIT 8
                        """
                ).map { $0[0] as String },
                try Row.fetchAll(
                    db, sql: "SELECT invoice_id, seen_at, change, status, total FROM invoice_history ORDER BY id"
                ).map {
                    "\(BillingStore.text($0, 0)) \($0[1] as Int64) \($0[2] as String) \($0[3] as String) \($0[4] as String)"
                },
                try Row.fetchAll(db, sql: "SELECT fallbacks FROM invoices WHERE invoice_id = 'inv-2'").map {
                    $0[0] as String
                }
            )
        }
        #expect(types == ["text", "text", "text", "text", "text", "text", "blob", "text"])
        #expect(history.count == invoices.count)
        #expect(history.first == "inv-0 100 created paid 12.34")
        #expect(history.last == "listed 100 created open 12.34")
        #expect(fallbacks == ["number,url"])
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
                if i > 0 && i != 21 && last != String(i == 21 + 1 ? 20 : i - 1) {
                    throw StoreError("out of order: \(i) after \(last ?? "nothing")")
                }
                try db.execute(
                    sql:
                        "INSERT INTO meta (key, value) VALUES ('last', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    arguments: [String(i)])
                if i == 21 { throw Boom() }  // after its write: that write must not be kept
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

    /// Holds the commit queue inside a first write until `queue` has handed over the rest.
    func withQueueHeld<T>(_ store: BillingStore, _ queue: () -> T) throws -> T {
        let gate = DispatchSemaphore(value: 0)
        let running = DispatchSemaphore(value: 0)
        let first = store.pool.writeLater { _ in
            running.signal()
            gate.wait()
        }
        running.wait()
        let queued = queue()
        gate.signal()
        try first.wait()
        return queued
    }

    @Test func writesThatQueueUpShareATransaction() throws {
        let store = try BillingStore(path: tempPath())
        let commits = try withQueueHeld(store) {
            (0..<12).map { i in
                store.pool.writeLater { db in
                    try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?)", arguments: ["k\(i)", String(i)])
                }
            }
        }
        for commit in commits { try commit.wait() }
        #expect(
            try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM meta WHERE key LIKE 'k%'") }
                == 12)
        // The first alone, then the twelve in groups of at most eight.
        #expect(store.pool.queuedTransactions == 3)
    }

    /// How many times each queued body ran.
    final class Runs: @unchecked Sendable {
        private let lock = NSLock()
        private var counts: [String: Int] = [:]
        func ran(_ key: String) { lock.withLock { counts[key, default: 0] += 1 } }
        subscript(key: String) -> Int { lock.withLock { counts[key, default: 0] } }
    }

    @Test func aWriteThatThrowsInASharedTransactionKeepsNothingAndTheOthersAreKept() throws {
        struct Boom: Error {}
        let store = try BillingStore(path: tempPath())
        let runs = Runs()
        let commits = try withQueueHeld(store) {
            (0..<6).map { i in
                store.pool.writeLater { db in
                    runs.ran("k\(i)")
                    try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?)", arguments: ["k\(i)", String(i)])
                    if i == 3 { throw Boom() }  // after its insert: only that insert goes
                }
            }
        }
        for (i, commit) in commits.enumerated() {
            if i == 3 { #expect(throws: Boom.self) { try commit.wait() } } else { try commit.wait() }
        }
        let keys = try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT key FROM meta WHERE key LIKE 'k%' ORDER BY key").map { $0[0] as String }
        }
        #expect(keys == ["k0", "k1", "k2", "k4", "k5"])
        // The six ran together first (up to the one that threw), then each alone.
        let counts: [Int] = (0..<6).map { runs["k\($0)"] }
        #expect(counts == [2, 2, 2, 2, 1, 1])
        // The first; then each of the five that succeed alone (the shared one was undone).
        #expect(store.pool.queuedTransactions == 6)
    }

    @Test func aWriteThatEndsTheTransactionFailsAloneAndTheOthersAreKept() throws {
        let store = try BillingStore(path: tempPath())
        let runs = Runs()
        let (before, breaking, after) = try withQueueHeld(store) {
            (
                store.pool.writeLater { db in
                    runs.ran("before")
                    try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('before', '1')")
                },
                // As SQLite does on a full disk or an I/O error: the whole transaction is gone.
                store.pool.writeLater { db in
                    try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('breaking', '1')")
                    try db.execute(sql: "ROLLBACK")
                },
                store.pool.writeLater { db in try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('after', '1')")
                }
            )
        }
        try before.wait()
        #expect(throws: (any Error).self) { try breaking.wait() }
        try after.wait()
        #expect(try store.meta("before") == "1")
        #expect(try store.meta("breaking") == nil)
        #expect(try store.meta("after") == "1")
        #expect(runs["before"] == 2)  // in the group that was undone, then alone
    }

    @Test func theLogIsCopiedBackIntoTheFileOffTheCommitPath() throws {
        let path = tempPath()
        let store = try BillingStore(path: path)
        let blob = String(repeating: "x", count: 6000)  // two pages a row
        func size(_ file: String) -> Int {
            (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        }
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
        let count = try store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM meta WHERE key LIKE 'k%'")
        }
        #expect(count == 700)
    }

    @Test func aReaderSeesTheStateCommittedBeforeItStarted() throws {
        let store = try BillingStore(path: tempPath())
        try store.setMeta("k", "before")
        let seen: String? = try store.pool.read { db in
            let first = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'k'")
            try store.setMeta("k", "after")  // committed by the writer while this read is open
            let second = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'k'")
            #expect(first == second)
            return second
        }
        #expect(seen == "before")
        #expect(try store.meta("k") == "after")
    }

    @Test func aFileThatIsNotADatabaseSaysSo() throws {
        let path = tempPath()
        try Data("this is not SQLite\n".utf8 + [UInt8](repeating: 0x41, count: 4096)).write(
            to: URL(fileURLWithPath: path))
        do {
            _ = try BillingStore(path: path)
            Issue.record("opened a file that is not a database")
        } catch {
            #expect(
                "\(error)"
                    == "cannot open the state database \(path): SQLite error 26: file is not a database - while executing `PRAGMA journal_mode = WAL`"
            )
        }
    }
}

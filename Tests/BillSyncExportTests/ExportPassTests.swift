import BillSyncConfig
import BillSyncCore
import BillSyncExport
import BillSyncStore
import Foundation
import Testing

/// An export pass writes its formats side by side: the files are the same as one format after
/// the other would write, listed in the configured order, and a format that fails leaves the
/// others written and the store's change marks in place for the next pass.
@Suite struct ExportPassTests {
    static let formats = ["csv", "ledger", "beancount", "focus"]

    static func store(in dir: String) throws -> BillingStore {
        let store = try BillingStore(path: dir + "/billsync.sqlite3")
        var day: Int64 = 1_767_225_600  // 2026-01-01
        for i in 0..<40 {
            let invoice = Invoice(
                id: "inv-\(i)", number: "\(1000 + i)", status: i % 3 == 0 ? .open : .paid,
                providerStatus: i % 3 == 0 ? "due" : "paid", currency: "USD", periodStart: day - 86400 * 7,
                periodEnd: day, issuedOn: day, total: try ExactDecimal(parsing: "\(10 + i).25"),
                creditsApplied: i % 4 == 0 ? try ExactDecimal(parsing: "0.25") : .zero,
                lineItems: [
                    LineItem(
                        lineNo: 1, lineType: "node", category: .usage, description: "Node \(i)",
                        quantity: try ExactDecimal(parsing: "24"), unit: "node-hour",
                        unitPrice: try ExactDecimal(parsing: "0.25"), amount: try ExactDecimal(parsing: "6.00"),
                        resourceID: "c\(i % 5)", attributes: "{\"cluster_id\":\"c\(i % 5)\"}"),
                    LineItem(
                        lineNo: 2, lineType: "bandwidth", category: .usage, description: "Bandwidth \(i)",
                        amount: try ExactDecimal(parsing: "\(4 + i).25")),
                ])
            try store.commitInvoicePage(
                source: "ts", provider: "typesense-cloud", invoices: [invoice], position: nil, seenAt: day,
                syncDay: day)
            day += 86400 * 9
        }
        return store
    }

    static func exporter(_ store: BillingStore, _ dir: String) -> Exporter {
        Exporter(
            store: store, directory: dir, bom: false, accounting: AccountingConfig(), vendors: ["ts": "TypesenseCloud"])
    }

    static func contents(_ files: [ExportedFile]) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for file in files {
            out[URL(fileURLWithPath: file.path).lastPathComponent] = try Data(
                contentsOf: URL(fileURLWithPath: file.path))
        }
        return out
    }

    @Test func formatsSideBySideWriteWhatOneAfterTheOtherWrites() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/bs-pass-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Self.store(in: dir)
        let together = try Self.exporter(store, dir + "/together").run(formats: Self.formats)
        var oneByOne: [ExportedFile] = []
        for format in Self.formats { oneByOne += try Self.exporter(store, dir + "/alone").run(formats: [format]) }
        // The same files in the same order, with the same bytes.
        #expect(
            together.map { $0.path.replacingOccurrences(of: "/together/", with: "/") }
                == oneByOne.map { $0.path.replacingOccurrences(of: "/alone/", with: "/") })
        #expect(together.count > 8, "\(together.count) files")
        #expect(try Self.contents(together) == Self.contents(oneByOne))
        for _ in 0..<5 {
            let again = try Self.exporter(store, dir + "/together").run(formats: Self.formats)
            #expect(again.map(\.path) == together.map(\.path))
            #expect(again.allSatisfy { !$0.written }, "an unchanged store rewrote a file")
        }
    }

    @Test func aFailingFormatLeavesTheOthersWrittenAndTheMarksForTheNextPass() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/bs-pass-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/exports", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Self.store(in: dir)
        // A folder where invoices.csv belongs: the first format, CSV, cannot write it.
        try FileManager.default.createDirectory(
            atPath: dir + "/exports/invoices.csv/x", withIntermediateDirectories: true)
        #expect(try !store.exportMarks().isEmpty)
        #expect(throws: (any Error).self) {
            try Self.exporter(store, dir + "/exports").run(formats: Self.formats, onlyChanged: true)
        }
        for name in ["billsync.journal", "billsync.beancount", "focus/2026-01.csv"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/exports/" + name), "\(name) was not written")
        }
        let journal = try String(contentsOfFile: dir + "/exports/billsync.journal", encoding: .utf8)
        #expect(journal.components(separatedBy: "; invoice:").count - 1 >= 40, "every invoice in the journal")
        #expect(try !store.exportMarks().isEmpty, "the marks were cleared by a pass that failed")
        // Once the file can be written, the next pass of changed files writes CSV too.
        try FileManager.default.removeItem(atPath: dir + "/exports/invoices.csv")
        let files = try Self.exporter(store, dir + "/exports").run(formats: Self.formats, onlyChanged: true)
        #expect(files.contains { $0.path.hasSuffix("/invoices.csv") && $0.written })
        let invoices = try String(contentsOfFile: dir + "/exports/invoices.csv", encoding: .utf8)
        #expect(invoices.components(separatedBy: "\r\n").count == 42, "header, 40 rows, and the end")
        #expect(try store.exportMarks().isEmpty)
    }
}

import BillSyncCore
import BillSyncStore
import BillSyncTestSupport
import Foundation
import Testing

@testable import BillSyncExport

/// What the workbook does when its rows would pass Excel's: usage sheets per month, then a
/// workbook per year. Excel's limit made small, on a store with three years of invoices; and
/// provider text that no XML may hold raw.
@Suite struct XLSXLayoutTests {
    static let year2025: Int64 = 1_735_689_600  // 2025-01-01

    /// 3 years × 4 invoices of 2 lines each; usage hours over three months of 2026.
    static func store(_ dir: String, description: String = "CPU") throws -> BillingStore {
        let store = try BillingStore(path: dir + "/billsync.sqlite3")
        for year in 0..<3 {
            for quarter in 0..<4 {
                let start = year2025 + Int64(year) * 365 * 86400 + Int64(quarter) * 90 * 86400
                let lines = [
                    LineItem(
                        lineNo: 1, lineType: "cpu", category: .usage, description: description,
                        amount: try ExactDecimal(parsing: "10.25")),
                    LineItem(
                        lineNo: 2, lineType: "memory", category: .usage, description: "Memory",
                        amount: try ExactDecimal(parsing: "0.125")),
                ]
                let invoice = Invoice(
                    id: "inv-\(year)-\(quarter)", status: .paid, providerStatus: "paid", currency: "USD",
                    periodStart: start, periodEnd: start + 30 * 86400, issuedOn: start + 30 * 86400,
                    total: try ExactDecimal(parsing: "10.375"), lineItems: lines)
                try store.commitInvoicePage(
                    source: "nf", provider: "northflank", invoices: [invoice], position: nil, seenAt: start,
                    syncDay: start)
            }
        }
        let hours = stride(from: year2025 + 365 * 86400, to: year2025 + 455 * 86400, by: 3600).map { start in
            UsageHour(
                hourStart: start, currency: "USD", paasTotal: ExactDecimal(1), cpu: ExactDecimal(1),
                memory: .zero, storage: .zero, gpu: .zero, byocTotal: .zero, byocVCPU: .zero, byocMemory: .zero,
                byocGPUMemory: .zero, byocCluster: .zero)
        }
        try store.commitUsagePage(
            source: "nf", provider: "northflank", hours: hours, position: .windowDone(doneUntil: hours.last!.hourStart))
        return store
    }

    static func dump(_ path: String) throws -> [(name: String, rows: Int)] {
        let run = try runProcess(
            try installedTool("office-python"),
            [
                "-c",
                "import openpyxl,sys,json; wb=openpyxl.load_workbook(sys.argv[1]); "
                    + "print(json.dumps([[ws.title, ws.max_row] for ws in wb.worksheets]))",
                path,
            ])
        #expect(run.status == 0, "\(run.stderr)")
        let sheets = try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[Any]])
        return sheets.map { ($0[0] as? String ?? "", $0[1] as? Int ?? -1) }
    }

    func context(_ store: BillingStore, _ dir: String) -> ExportContext {
        ExportContext(
            store: store, directory: dir + "/exports", bom: false, accounting: AccountingConfig(), vendors: [:],
            tolerances: [:],
            full: true, marks: [:])
    }

    func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.path + "/billsync-layout-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func usageThatWouldPassTheRowsGetsASheetPerMonth() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Self.store(dir)
        // 24 line items fit under 1,000 rows; the 2,160 usage hours do not.
        let files = try XLSXExport.write(context(store, dir), maxRows: 1000)
        #expect(files.map { ($0.path as NSString).lastPathComponent } == ["billsync.xlsx"])
        let sheets = try Self.dump(dir + "/exports/billsync.xlsx")
        #expect(
            sheets.map(\.name) == [
                "Summary", "Invoices", "Line items", "Usage 2026-01", "Usage 2026-02", "Usage 2026-03",
            ])
        #expect(sheets.map(\.rows) == [13, 13, 25, 1 + 31 * 24, 1 + 28 * 24, 1 + 31 * 24])
    }

    @Test func invoicesThatWouldPassTheRowsGetAWorkbookPerYear() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Self.store(dir)
        _ = try XLSXExport.write(context(store, dir))
        #expect(FileManager.default.fileExists(atPath: dir + "/exports/billsync.xlsx"))
        // 24 line items over a limit of 20: a workbook per year, and the single one removed.
        let files = try XLSXExport.write(context(store, dir), maxRows: 20)
        #expect(files.map { ($0.path as NSString).lastPathComponent } == ["2025.xlsx", "2026.xlsx", "2027.xlsx"])
        #expect(!FileManager.default.fileExists(atPath: dir + "/exports/billsync.xlsx"))
        for year in ["2025", "2027"] {
            let sheets = try Self.dump(dir + "/exports/xlsx/\(year).xlsx")
            #expect(sheets.map(\.name) == ["Summary", "Invoices", "Line items"], "\(year)")
            #expect(sheets.map(\.rows) == [5, 5, 9], "\(year): four months, four invoices, eight lines")
        }
        let sheets = try Self.dump(dir + "/exports/xlsx/2026.xlsx")
        #expect(
            sheets.map(\.name) == [
                "Summary", "Invoices", "Line items", "Usage 2026-01", "Usage 2026-02", "Usage 2026-03",
            ])
    }

    @Test func textNoXMLMayHoldRawStillOpens() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Self.store(
            dir, description: "ctrl \u{01}\u{1B} nul \u{0} _x0041_ \r\n" + String(repeating: "x", count: 40_000))
        _ = try XLSXExport.write(context(store, dir))
        let run = try runProcess(
            try installedTool("office-python"),
            [
                "-c",
                "import openpyxl,re,sys; ws=openpyxl.load_workbook(sys.argv[1])['Line items']; "
                    + "v=re.sub(r'_x([0-9A-Fa-f]{4})_', lambda m: chr(int(m.group(1), 16)), ws['G2'].value); "
                    + "print(len(v), ascii(v[:26]), ascii(v[-2:]))",
                dir + "/exports/billsync.xlsx",
            ])
        #expect(run.status == 0, "\(run.stderr)")
        // Decoded as Excel decodes `_xHHHH_`: the text as stored, cut at 32,767 characters as
        // written (the literal `_x0041_`'s escaped `_` takes 7 of them).
        #expect(run.stdout == "32761 'ctrl \\x01\\x1b nul \\ufffd _x0041_ \\r\\nxx' 'x\\u2026'\n", "\(run.stdout)")
    }
}

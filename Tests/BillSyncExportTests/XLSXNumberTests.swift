import BillSyncTestSupport
import Foundation
import Testing

@testable import BillSyncExport

/// XLSX numbers are IEEE doubles (the file format's own): each amount is written as the double
/// nearest its exact decimal, so that a reader's shortest text of it is that decimal whenever it
/// has at most 15 significant digits. Checked through libxlsxwriter and openpyxl.
@Suite struct XLSXNumberTests {
    @Test func decimalsOfUpTo15DigitsReadBackExactly() throws {
        var dice = Dice(state: 15)
        var decimals: [String] = []
        for _ in 0..<3000 {
            let digits = 1 + dice.below(15)
            var significand = String(1 + dice.below(9))
            for _ in 1..<digits { significand += String(dice.below(10)) }
            let scale = dice.below(min(digits + 6, 16))
            var text: String
            if scale == 0 {
                text = significand
            } else if scale < significand.count {
                text = String(significand.dropLast(scale)) + "." + String(significand.suffix(scale))
            } else {
                text = "0." + String(repeating: "0", count: scale - significand.count) + significand
            }
            if dice.chance(0.3) { text = "-" + text }
            decimals.append(text)
        }
        decimals += ["0.1", "0.3", "9.99999999999999", "999999999999999", "123456789.012345", "0.00000001"]
        let dir = FileManager.default.temporaryDirectory.path + "/billsync-xlsx-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/numbers.xlsx"
        let book = try Workbook(path: path, title: "numbers")
        let sheet = book.sheet("Numbers")
        let cells = XLSXExport.Cells(book)
        let long = String(repeating: "é", count: 40_000)
        sheet.text(0, 1, long)
        for (row, text) in decimals.enumerated() { cells.amount(sheet, row, 0, text) }
        try book.close()
        let run = try runProcess(
            try installedTool("office-python"),
            [
                "-c",
                "import openpyxl,sys,json; ws=openpyxl.load_workbook(sys.argv[1]).active; "
                    + "print(json.dumps([[repr(r[0].value), len(r[1].value or '')] for r in ws.iter_rows(max_col=2)]))",
                path,
            ])
        #expect(run.status == 0, "\(run.stderr)")
        let read = try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[Any]])
        #expect(read.count == decimals.count)
        var wrong: [String] = []
        for (text, cell) in zip(decimals, read) {
            let repr = cell[0] as? String ?? ""
            if Decimal(string: repr) != Decimal(string: text) { wrong.append("\(text) read back as \(repr)") }
        }
        #expect(wrong.isEmpty, "\(wrong.count) of \(decimals.count): \(wrong.prefix(10))")
        // Excel's longest cell: 32,767 characters, the last of them an ellipsis.
        #expect(read.first?[1] as? Int == 32_767)
    }
}

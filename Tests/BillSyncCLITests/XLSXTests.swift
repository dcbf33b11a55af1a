import BillSyncCore
import BillSyncTestSupport
import Foundation
import Testing

/// `billsync.xlsx` as openpyxl and LibreOffice read it, cell by cell against the CSV files and
/// the journal, on the normal and the hostile syncs.
@Suite struct XLSXTests {
    enum Kind { case text, amount, quantity, instant, date, integer }

    static let invoiceKinds: [Kind] = [
        .text, .text, .text, .text, .text, .text, .text, .instant, .instant, .date, .date, .amount, .amount, .amount,
        .text,
    ]
    static let lineKinds: [Kind] = [
        .text, .text, .text, .integer, .text, .text, .text, .quantity, .text, .amount, .amount, .text, .text, .text,
    ]
    static let usageKinds: [Kind] = [.text, .text, .instant, .text] + Array(repeating: .amount, count: 11)

    func syncedWorkspace(hostile: Bool) throws -> (SimHarness, Workspace) {
        try AccountingExportTests().syncedWorkspace(hostile: hostile, exports: "\"csv\", \"ledger\", \"xlsx\"")
    }

    /// The workbook as `Tests/Tools/xlsx_dump.py` prints it.
    static func dump(_ path: String) throws -> [String: Any] {
        let run = try runProcess(
            try installedTool("office-python"), [repositoryRoot + "/Tests/Tools/xlsx_dump.py", path])
        #expect(run.status == 0, "\(run.stderr)")
        return try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    }

    static func sheet(_ dump: [String: Any], _ name: String) throws -> [String: Any] {
        let sheets = try #require(dump["sheets"] as? [[String: Any]])
        return try #require(sheets.first { $0["name"] as? String == name }, "no sheet \(name)")
    }

    static func rows(_ sheet: [String: Any]) -> [[[String: Any]?]] {
        (sheet["rows"] as? [[Any]] ?? []).map { $0.map { $0 as? [String: Any] } }
    }

    /// The CSV's text of a provider string: without the apostrophe that guards a formula-like start.
    static func unguarded(_ text: String) -> String {
        guard text.hasPrefix("'"), let next = text.dropFirst().first, "=+-@\t\r".contains(next) else { return text }
        return String(text.dropFirst())
    }

    /// OOXML's `_xHHHH_` escapes (a carriage return is `_x000D_`), decoded as Excel and
    /// LibreOffice decode them; openpyxl hands them over as they are in the file.
    static func unescaped(_ text: String) -> String {
        guard text.contains("_x") else { return text }
        return text.replacing(/_x([0-9A-Fa-f]{4})_/) { match in
            String(UnicodeScalar(UInt32(match.output.1, radix: 16)!).map(Character.init) ?? "?")
        }
    }

    static func significantDigits(_ text: String) -> Int {
        let digits = text.filter(\.isNumber).drop { $0 == "0" }
        return text.contains(".") ? String(digits.reversed()).drop { $0 == "0" }.count : digits.count
    }

    /// Whether a numeric cell holds the CSV's exact decimal: the double's shortest text is that
    /// decimal when it has at most 15 significant digits; beyond, the two agree to 15.
    static func sameAmount(_ repr: String, _ csv: String) -> Bool {
        if significantDigits(csv) <= 15 { return Decimal(string: repr) == Decimal(string: csv) }
        return String(format: "%.15g", Double(repr) ?? .nan) == String(format: "%.15g", Double(csv) ?? .nan)
    }

    /// One cell against its CSV text; nil when they agree, else what differs.
    static func mismatch(_ cell: [String: Any]?, _ csv: String, _ kind: Kind) -> String? {
        if csv.isEmpty { return cell == nil ? nil : "expected an empty cell, found \(cell!)" }
        guard let cell else { return "empty cell for \(csv)" }
        switch kind {
        case .text:
            return (cell["s"] as? String).map(Self.unescaped) == unguarded(csv) ? nil : "text \(cell) for \(csv)"
        case .amount, .quantity, .integer:
            guard let repr = cell["n"] as? String else { return "not a number: \(cell) for \(csv)" }
            if kind != .integer {
                let decimals = csv.split(separator: ".").dropFirst().first?.count ?? 0
                let shown = (cell["format"] as? String)?.split(separator: ".").dropFirst().first?.count ?? 0
                if shown != max(kind == .amount ? 2 : 0, decimals) && !(csv.contains("e") || csv.contains("E")) {
                    return "format \(cell["format"] ?? "") shows \(shown) decimals of \(csv)"
                }
            }
            return sameAmount(repr, csv) ? nil : "number \(repr) for \(csv)"
        case .instant:
            return cell["d"] as? String == csv.replacingOccurrences(of: " ", with: "T")
                ? nil : "instant \(cell) for \(csv)"
        case .date:
            return cell["d"] as? String == csv + "T00:00:00" ? nil : "date \(cell) for \(csv)"
        }
    }

    /// Every row and cell of `sheet` against the CSV `records` (the header row first).
    static func compare(_ sheet: [String: Any], csv text: String, kinds: [Kind]) -> (rows: Int, problems: [String]) {
        let csv = CSV.rows(text)
        let rows = Self.rows(sheet)
        var problems: [String] = []
        if rows.count != csv.count { problems.append("\(rows.count) rows against the CSV's \(csv.count)") }
        if rows.first?.compactMap({ $0?["s"] as? String }) != csv.first {
            problems.append("header \(rows.first ?? [])")
        }
        for (r, (cells, record)) in zip(rows, csv).enumerated().dropFirst() {
            for (c, kind) in kinds.enumerated() {
                let cell = c < cells.count ? cells[c] : nil
                if let problem = mismatch(cell, c < record.count ? record[c] : "", kind) {
                    problems.append("row \(r + 1) column \(c + 1): \(problem)")
                }
            }
        }
        if sheet["freeze"] as? String != "A2" { problems.append("header not frozen: \(sheet["freeze"] ?? "")") }
        let lastColumn = UnicodeScalar(UInt8(64 + kinds.count))
        if sheet["filter"] as? String != "A1:\(Character(lastColumn))\(max(rows.count, 2))" {
            problems.append("autofilter \(sheet["filter"] ?? "")")
        }
        return (rows.count - 1, problems)
    }

    @Test(arguments: [false, true])
    func everySheetHoldsTheCSVsValuesAsTypedCells(hostile: Bool) throws {
        let (_, ws) = try syncedWorkspace(hostile: hostile)
        let dump = try Self.dump(ws.exportDir + "/billsync.xlsx")
        let invoices = Self.compare(
            try Self.sheet(dump, "Invoices"), csv: try ws.read("invoices.csv"), kinds: Self.invoiceKinds)
        #expect(invoices.problems.isEmpty, "Invoices: \(invoices.problems.prefix(10))")
        #expect(invoices.rows > 40)
        let lines = Self.compare(
            try Self.sheet(dump, "Line items"), csv: try ws.read("line_items.csv"), kinds: Self.lineKinds)
        #expect(lines.problems.isEmpty, "Line items: \(lines.problems.prefix(10))")
        #expect(lines.rows > 100)
        let months = try FileManager.default.contentsOfDirectory(atPath: ws.exportDir + "/usage").sorted()
        var usageCSV = ""
        for (i, name) in months.enumerated() {
            var text = try ws.read("usage/" + name)
            if i > 0 { text = String(text.drop { $0 != "\n" }.dropFirst()) }
            usageCSV += text
        }
        let usage = Self.compare(try Self.sheet(dump, "Usage"), csv: usageCSV, kinds: Self.usageKinds)
        #expect(usage.problems.isEmpty, "Usage: \(usage.problems.prefix(10))")
        #expect(usage.rows > 1000)
    }

    /// `hledger bal Expenses:Cloud --depth 3 -M`: vendor → month → currency → amount.
    static func hledgerSpend(_ journal: String) throws -> [String: [String: [String: Decimal]]] {
        let path = try #require(AccountingExportTests.which("hledger"), "hledger is not installed")
        let r = try runProcess(path, ["-f", journal, "bal", "Expenses:Cloud", "--depth", "3", "-M", "-O", "csv", "-N"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = CSV.rows(r.stdout.replacingOccurrences(of: "\n", with: "\r\n"))
        var out: [String: [String: [String: Decimal]]] = [:]
        guard let header = rows.first else { return out }
        for row in rows.dropFirst() where row.count == header.count {
            let vendor = String(row[0].split(separator: ":").last ?? "")
            for (month, cell) in zip(header.dropFirst(), row.dropFirst()) where cell != "0" {
                for part in cell.split(separator: ",") {
                    let pieces = part.split(separator: " ")
                    guard pieces.count == 2 else { continue }
                    out[vendor, default: [:]][month, default: [:]][String(pieces[1])] = Decimal(
                        string: String(pieces[0]))
                }
            }
        }
        return out
    }

    @Test func theSummaryIsTheJournalsSpendPerVendorAndMonthWithAChart() throws {
        let (_, ws) = try syncedWorkspace(hostile: false)
        let dump = try Self.dump(ws.exportDir + "/billsync.xlsx")
        let summary = try Self.sheet(dump, "Summary")
        let rows = Self.rows(summary)
        let header = rows[0].map { $0?["s"] as? String ?? "" }
        #expect(header.first == "Month" && header.dropFirst().first == "Currency" && header.last == "Total")
        let vendors = Array(header.dropFirst(2).dropLast())
        var fromSheet: [String: [String: [String: Decimal]]] = [:]
        for row in rows.dropFirst() {
            let month = String((row[0]?["d"] as? String ?? "").prefix(7))
            let currency = row[1]?["s"] as? String ?? ""
            var total = Decimal(0)
            for (i, vendor) in vendors.enumerated() {
                let value = Decimal(string: row[2 + i]?["n"] as? String ?? "") ?? .nan
                total += value
                if value != 0 { fromSheet[vendor, default: [:]][month, default: [:]][currency] = value }
            }
            #expect(
                Decimal(string: row[2 + vendors.count]?["n"] as? String ?? "") == total, "total of \(month) \(currency)"
            )
        }
        let journal = try Self.hledgerSpend(ws.exportDir + "/billsync.journal")
        #expect(fromSheet == journal)
        #expect(journal.count == 3 && journal.values.allSatisfy { $0.count >= 3 })
        let charts = try #require(dump["charts"] as? [[String: Any]])
        let currencies = Set(rows.dropFirst().compactMap { $0[1]?["s"] as? String })
        #expect(charts.count == currencies.count, "a chart per currency")
        for chart in charts {
            #expect(chart["sheet"] as? String == "Summary")
            #expect(chart["type"] as? String == "barChart" && chart["grouping"] as? String == "stacked")
            let series = try #require(chart["series"] as? [[String: Any]])
            #expect(series.count == vendors.count)
            for (i, s) in series.enumerated() {
                let column = String(Character(UnicodeScalar(UInt8(67 + i))))
                #expect(s["name"] as? String == "Summary!$\(column)$1")
                let values = s["values"] as? String ?? ""
                #expect(
                    values.wholeMatch(of: /Summary!\$[C-Z]\$\d+:\$[C-Z]\$\d+/) != nil && values.contains("$\(column)$"))
                #expect((s["categories"] as? String ?? "").hasPrefix("Summary!$A$"))
            }
        }
    }

    @Test func theSameStoreGivesTheSameBytes() throws {
        let (_, ws) = try syncedWorkspace(hostile: true)
        let before = try #require(FileManager.default.contents(atPath: ws.exportDir + "/billsync.xlsx"))
        Thread.sleep(forTimeInterval: 1.1)  // a timestamp in the file would now differ
        let run = try ws.billsync(["export", "--format", "xlsx"])
        #expect(run.status == 0, "\(run.stderr)")
        let after = try #require(FileManager.default.contents(atPath: ws.exportDir + "/billsync.xlsx"))
        #expect(before == after)
    }

    /// LibreOffice, converting the workbook's sheets to CSV as the cells show, under `locale`.
    static func libreOffice(_ workbook: String, locale: String, in dir: String) throws -> [[String]] {
        let out = dir + "/lo-" + locale
        let run = try runProcess(
            "/usr/bin/soffice",
            [
                "-env:UserInstallation=file://" + dir + "/profile-" + locale, "--headless", "--convert-to",
                "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1", "--outdir", out,
                workbook,
            ], env: ["LC_ALL": locale + ".UTF-8", "LANG": locale + ".UTF-8"])
        #expect(run.status == 0, "\(run.stderr)")
        return CSV.rows(
            try String(contentsOfFile: out + "/billsync-Invoices.csv", encoding: .utf8)
                .replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n"))
    }

    @Test func libreOfficeReadsTheTotalsAsNumbersInGermanAndInEnglish() throws {
        let (_, ws) = try syncedWorkspace(hostile: false)
        let workbook = ws.exportDir + "/billsync.xlsx"
        let german = try Self.libreOffice(workbook, locale: "de_DE", in: ws.root)
        let english = try Self.libreOffice(workbook, locale: "en_US", in: ws.root)
        let csv = CSV.rows(try ws.read("invoices.csv"))
        let total = try #require(csv.first?.firstIndex(of: "total"))
        #expect(german.count == csv.count && english.count == csv.count)
        for (i, record) in csv.enumerated().dropFirst() where i < german.count && i < english.count {
            // Shown as numbers in each locale's own way, so they are numbers, not text.
            let de = german[i][total]
            let en = english[i][total]
            #expect(de.wholeMatch(of: /-?\d{1,3}(\.\d{3})*,\d{2,}/) != nil, "German: \(de)")
            #expect(en.wholeMatch(of: /-?\d{1,3}(,\d{3})*\.\d{2,}/) != nil, "English: \(en)")
            let fromGerman = Decimal(
                string: de.replacingOccurrences(of: ".", with: "").replacingOccurrences(of: ",", with: "."))
            let fromEnglish = Decimal(string: en.replacingOccurrences(of: ",", with: ""))
            #expect(fromGerman == Decimal(string: record[total]) && fromEnglish == fromGerman, "\(record[total])")
        }
    }
}

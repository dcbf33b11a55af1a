import BillSyncCore
import BillSyncStore
import CXLSXWriter
import Foundation

/// `billsync.xlsx`: sheets `Summary` (spend per vendor and month, as in the journal, and a
/// stacked column chart of it per currency), `Invoices`, `Line items` and `Usage` (a sheet per
/// month when the hours would pass Excel's rows). When the invoices or line items would pass
/// them, one workbook per year of the invoices' billing periods instead: `xlsx/YYYY.xlsx`.
///
/// Cells are typed: amounts are numbers (IEEE doubles, as the file format has them: the
/// nearest to the exact decimal) with a format that shows their decimals, instants and dates
/// date cells in UTC, everything else text.
enum XLSXExport {
    /// The rows of one workbook: everything, or the invoices (and their lines, and the usage
    /// hours) of one UTC year.
    struct Part {
        let path: String
        let year: (start: Int64, end: Int64)?

        func holds(_ unix: Int64) -> Bool { year.map { unix >= $0.start && unix < $0.end } ?? true }
    }

    /// `maxRows`: a sheet's data rows at most (Excel's limit; smaller in tests).
    static func write(_ context: ExportContext, maxRows: Int = Sheet.maxDataRows) throws -> [ExportedFile] {
        let store = context.store
        let totals = try store.totals()
        var parts: [Part] = []
        if totals.invoices <= maxRows && totals.lineItems <= maxRows {
            parts = [Part(path: "billsync.xlsx", year: nil)]
        } else {
            var years = Set<Int>()
            try store.forEachRawInvoiceRow { years.insert(UTC.civil($0.int64(.periodStart)).year) }
            for year in years.sorted() {
                let start = UTC.days(year: year, month: 1, day: 1) * 86400
                parts.append(
                    Part(
                        path: "xlsx/\(year).xlsx", year: (start, UTC.days(year: year + 1, month: 1, day: 1) * 86400)))
            }
        }
        let months = try store.usageMonths()
        let stale =
            context.invoicesStale(parts.map(\.path))
            || months.contains { context.usageStale($0, file: parts[0].path) }
        guard stale else { return [] }
        let model = try context.ledgerModel()
        var files: [ExportedFile] = []
        for part in parts {
            files.append(
                try writeWorkbook(
                    part, context: context, model: model, months: months, oneUsageSheet: totals.usageHours <= maxRows))
        }
        // A workbook of the other layout, left from before the store grew past Excel's rows.
        if parts[0].year == nil {
            try? FileManager.default.removeItem(atPath: context.directory + "/xlsx")
        } else {
            unlink(context.directory + "/billsync.xlsx")
        }
        return files
    }

    static func writeWorkbook(
        _ part: Part, context: ExportContext, model: LedgerModel, months: [String], oneUsageSheet: Bool
    ) throws -> ExportedFile {
        let file = try StreamedFile(path: context.directory + "/" + part.path)
        do {
            let book = try Workbook(path: file.temp, title: "billsync")
            let cells = Cells(book)
            var rows = try summary(book.sheet("Summary"), cells, model: model, part: part)
            rows += try invoices(book.sheet("Invoices"), cells, store: context.store, part: part)
            rows += try lineItems(book.sheet("Line items"), cells, store: context.store, part: part)
            let inPart = months.filter { month in UTC.parse(month + "-01").map(part.holds) ?? false }
            if oneUsageSheet {
                if !inPart.isEmpty {
                    rows += try usage(book.sheet("Usage"), cells, store: context.store, months: inPart)
                }
            } else {
                for month in inPart {
                    rows += try usage(book.sheet("Usage \(month)"), cells, store: context.store, months: [month])
                }
            }
            try book.close()
            let written = try file.finishWrittenElsewhere()
            return ExportedFile(path: file.path, bytes: file.size, rows: rows, written: written)
        } catch {
            file.abandon()
            throw error
        }
    }

    /// The formats and number conversions every sheet shares.
    struct Cells {
        let book: Workbook
        let dateTime: UnsafeMutablePointer<lxw_format>?
        let date: UnsafeMutablePointer<lxw_format>?
        let month: UnsafeMutablePointer<lxw_format>?
        let integer: UnsafeMutablePointer<lxw_format>?

        init(_ book: Workbook) {
            self.book = book
            dateTime = book.format("yyyy-mm-dd hh:mm:ss")
            date = book.format("yyyy-mm-dd")
            month = book.format("yyyy-mm")
            integer = book.format("0")
        }

        /// `#,##0.00` with as many decimals as `decimals` (at least `minimum`).
        func amountFormat(_ decimals: Int, minimum: Int = 2) -> UnsafeMutablePointer<lxw_format>? {
            let places = max(decimals, minimum)
            return book.format(places == 0 ? "#,##0" : "#,##0." + String(repeating: "0", count: places))
        }

        /// A decimal's text as the nearest double (strtod rounds correctly) and a format that
        /// shows its decimals; an empty text leaves the cell empty.
        func amount(
            _ sheet: Sheet, _ row: Int, _ column: Int, _ text: UnsafeBufferPointer<UInt8>, minimumDecimals: Int = 2
        ) {
            guard text.count > 0, text.count < 64 else { return }
            var buffer = (
                0 as UInt64, 0 as UInt64, 0 as UInt64, 0 as UInt64, 0 as UInt64, 0 as UInt64, 0 as UInt64,
                0 as UInt64
            )
            withUnsafeMutableBytes(of: &buffer) { raw in
                let p = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
                p.update(from: text.baseAddress!, count: text.count)
                p[text.count] = 0
                var decimals = 0
                if let dot = text.firstIndex(of: UInt8(ascii: ".")) {
                    decimals = text.count - dot - 1
                    if let e = text.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }), e > dot {
                        decimals = e - dot - 1
                    }
                }
                let value = p.withMemoryRebound(to: CChar.self, capacity: text.count + 1) { strtod($0, nil) }
                sheet.number(row, column, value, amountFormat(decimals, minimum: minimumDecimals))
            }
        }

        func amount(_ sheet: Sheet, _ row: Int, _ column: Int, _ text: String, minimumDecimals: Int = 2) {
            var text = text
            text.withUTF8 { amount(sheet, row, column, $0, minimumDecimals: minimumDecimals) }
        }
    }

    static func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Spend per month and vendor, per currency: the expense postings of the journal by the
    /// month of their transaction, each currency's months a block with its own chart.
    static func summary(_ sheet: Sheet, _ cells: Cells, model: LedgerModel, part: Part) throws -> Int {
        let expensePrefix = model.accounting.expenseAccount + ":"
        var spend: [String: [String: [String: ExactDecimal]]] = [:]  // currency → month → vendor
        var vendors = Set<String>()
        try model.forEachTransaction { t in
            guard part.holds(t.date) else { return }
            for posting in t.postings where posting.account.hasPrefix(expensePrefix) {
                let vendor = String(posting.account.dropFirst(expensePrefix.count).prefix { $0 != ":" })
                vendors.insert(vendor)
                spend[t.currency, default: [:]][UTC.month(t.date), default: [:]][vendor, default: .zero] +=
                    posting.amount
            }
        }
        let vendorList = vendors.sorted()
        let columns = ["Month", "Currency"] + vendorList + ["Total"]
        sheet.header(columns, widths: [10, 9] + vendorList.map { max(14, Double($0.count) + 2) } + [16])
        var row = 0
        var charts = 0
        for currency in spend.keys.sorted() {
            let first = row + 1
            for month in spend[currency]!.keys.sorted() {
                row += 1
                let byVendor = spend[currency]![month]!
                sheet.instant(row, 0, UTC.parse(month + "-01") ?? 0, cells.month)
                sheet.text(row, 1, currency)
                var total = ExactDecimal.zero
                for (i, vendor) in vendorList.enumerated() {
                    let amount = byVendor[vendor] ?? .zero
                    total += amount
                    cells.amount(sheet, row, 2 + i, amount.description)
                }
                cells.amount(sheet, row, 2 + vendorList.count, total.description)
            }
            guard let chart = cells.book.chart(LXW_CHART_COLUMN_STACKED) else { continue }
            for i in vendorList.indices {
                let series = chart_add_series(chart, nil, nil)
                chart_series_set_categories(series, sheet.name, lxw_row_t(first), 0, lxw_row_t(row), 0)
                chart_series_set_values(
                    series, sheet.name, lxw_row_t(first), lxw_col_t(2 + i), lxw_row_t(row), lxw_col_t(2 + i))
                chart_series_set_name_range(series, sheet.name, 0, lxw_col_t(2 + i))
            }
            chart_title_set_name(chart, "Cloud spend per vendor and month (\(currency))")
            chart_axis_set_name(chart.pointee.y_axis, currency)
            cells.book.check(
                worksheet_insert_chart(
                    sheet.handle, lxw_row_t(1 + 16 * charts), lxw_col_t(columns.count + 1), chart), "Summary chart")
            charts += 1
        }
        sheet.filter(columns: columns.count, rows: row)
        return row
    }

    static func invoices(_ sheet: Sheet, _ cells: Cells, store: BillingStore, part: Part) throws -> Int {
        sheet.header(
            CSVExport.invoiceColumns, widths: [14, 16, 26, 16, 9, 14, 9, 20, 20, 11, 11, 13, 13, 14, 40])
        var row = 0
        try store.forEachRawInvoiceRow { r in
            guard part.holds(r.int64(.periodStart)) else { return }
            row += 1
            sheet.text(row, 0, text(r.bytes(.source)))
            sheet.text(row, 1, text(r.bytes(.provider)))
            sheet.text(row, 2, text(r.bytes(.invoiceID)))
            sheet.text(row, 3, text(r.bytes(.invoiceNumber)))
            sheet.text(row, 4, text(r.bytes(.status)))
            sheet.text(row, 5, text(r.bytes(.providerStatus)))
            sheet.text(row, 6, text(r.bytes(.currency)))
            sheet.instant(row, 7, r.int64(.periodStart), cells.dateTime)
            sheet.instant(row, 8, r.int64(.periodEnd), cells.dateTime)
            sheet.instant(row, 9, r.int64(.issuedOn), cells.date)
            if !r.isNull(.paidOn) { sheet.instant(row, 10, r.int64(.paidOn), cells.date) }
            cells.amount(sheet, row, 11, r.bytes(.subtotal))
            cells.amount(sheet, row, 12, r.bytes(.total))
            cells.amount(sheet, row, 13, r.bytes(.creditsApplied))
            sheet.text(row, 14, text(r.bytes(.url)))
        }
        sheet.filter(columns: CSVExport.invoiceColumns.count, rows: row)
        return row
    }

    static func lineItems(_ sheet: Sheet, _ cells: Cells, store: BillingStore, part: Part) throws -> Int {
        sheet.header(
            CSVExport.lineItemColumns, widths: [14, 16, 26, 8, 16, 11, 40, 12, 10, 12, 13, 9, 24, 30])
        var row = 0
        func line(_ l: BillingStore.LineItemRow) {
            row += 1
            sheet.text(row, 0, l.source)
            sheet.text(row, 1, l.provider)
            sheet.text(row, 2, l.invoiceID)
            sheet.number(row, 3, Double(l.lineNo), cells.integer)
            sheet.text(row, 4, l.lineType)
            sheet.text(row, 5, l.category)
            sheet.text(row, 6, l.description)
            if let q = l.quantity { cells.amount(sheet, row, 7, q, minimumDecimals: 0) }
            sheet.text(row, 8, l.unit)
            if let p = l.unitPrice { cells.amount(sheet, row, 9, p) }
            cells.amount(sheet, row, 10, l.amount)
            sheet.text(row, 11, l.currency)
            sheet.text(row, 12, l.resourceID)
            sheet.text(row, 13, l.attributes)
        }
        if part.year == nil {
            try store.forEachLineItemRow(line)
        } else {
            try store.forEachLineByPeriodMonth { l, invoice in if part.holds(invoice.periodStart) { line(l) } }
        }
        sheet.filter(columns: CSVExport.lineItemColumns.count, rows: row)
        return row
    }

    static let usageAmounts: [BillingStore.UsageColumn] = [
        .total, .paasTotal, .cpu, .memory, .storage, .gpu, .byocTotal, .byocVCPU, .byocMemory, .byocGPUMemory,
        .byocCluster,
    ]

    static func usage(_ sheet: Sheet, _ cells: Cells, store: BillingStore, months: [String]) throws -> Int {
        sheet.header(CSVExport.usageColumns, widths: [14, 12, 20, 9] + Array(repeating: 12, count: 11))
        var row = 0
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
        defer { buffer.deallocate() }
        for month in months {
            guard let first = UTC.parse(month + "-01") else { continue }
            let range = UTC.monthContaining(first)
            try store.forEachRawUsageRow(from: range.start, to: range.end) { r in
                row += 1
                sheet.text(row, 0, text(r.bytes(.source)))
                sheet.text(row, 1, text(r.bytes(.provider)))
                sheet.instant(row, 2, r.int64(.hourStart), cells.dateTime)
                sheet.text(row, 3, text(r.bytes(.currency)))
                for (i, column) in usageAmounts.enumerated() {
                    cells.amount(sheet, row, 4 + i, r.amount(column, buffer))
                }
            }
        }
        sheet.filter(columns: CSVExport.usageColumns.count, rows: row)
        return row
    }
}

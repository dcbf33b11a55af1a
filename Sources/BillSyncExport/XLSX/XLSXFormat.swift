/// `billsync.xlsx` (or `xlsx/YYYY.xlsx`), a typed Excel workbook with a chart.
struct XLSXFormat: ExportFormat {
    let name = "xlsx"
    var directories: [String] { ["xlsx"] }

    func write(_ context: ExportContext) throws -> [ExportedFile] { try XLSXExport.write(context) }
}

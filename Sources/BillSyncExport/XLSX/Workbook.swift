import CXLSXWriter
import Foundation

/// An XLSX workbook through libxlsxwriter, in its constant-memory mode: each sheet's rows go
/// to a temporary file as they are written, in order, so memory stays flat whatever the rows.
/// Every call's error is kept; the first one is thrown at ``close()``.
final class Workbook {
    let path: String
    private var handle: UnsafeMutablePointer<lxw_workbook>?
    private(set) var failure: String?
    private var formats: [String: UnsafeMutablePointer<lxw_format>] = [:]

    /// A workbook written to `path` at ``close()``, with fixed document properties so that the
    /// same rows give the same bytes.
    init(path: String, title: String) throws(ExportError) {
        self.path = path
        var options = lxw_workbook_options()
        options.constant_memory = 1
        options.use_zip64 = 1
        let tmpdir = strdup((path as NSString).deletingLastPathComponent)
        defer { free(tmpdir) }
        options.tmpdir = tmpdir
        handle = workbook_new_opt(path, &options)
        guard let handle else { throw ExportError(path: path, reason: "libxlsxwriter cannot create the workbook") }
        var properties = lxw_doc_properties()
        let fields = [strdup(title), strdup("billsync"), strdup("generated from billsync.sqlite3 by billsync export")]
        defer { for field in fields { free(field) } }
        properties.title = fields[0]
        properties.author = fields[1]
        properties.comments = fields[2]
        properties.created = 1  // 1970-01-01T00:00:01Z: no wall-clock time in the file
        check(workbook_set_properties(handle, &properties), "document properties")
    }

    deinit { if let handle { workbook_close(handle) } }

    func check(_ error: lxw_error, _ what: @autoclosure () -> String) {
        guard error != LXW_NO_ERROR, failure == nil else { return }
        failure = "\(what()): \(String(cString: lxw_strerror(error)))"
    }

    /// A sheet; `name` at most 31 characters, none of `[]:*?/\`.
    func sheet(_ name: String) -> Sheet {
        Sheet(workbook: self, handle: workbook_add_worksheet(handle, name), name: name)
    }

    /// The cell format with Excel number format `numberFormat` (`"#,##0.00"`, `"yyyy-mm-dd"`),
    /// created once; `bold` for header cells.
    func format(_ numberFormat: String?, bold: Bool = false) -> UnsafeMutablePointer<lxw_format>? {
        let key = (bold ? "b:" : "") + (numberFormat ?? "")
        if let format = formats[key] { return format }
        let format = workbook_add_format(handle)
        if let numberFormat { format_set_num_format(format, numberFormat) }
        if bold { format_set_bold(format) }
        formats[key] = format
        return format
    }

    func chart(_ type: lxw_chart_type) -> UnsafeMutablePointer<lxw_chart>? {
        workbook_add_chart(handle, UInt8(type.rawValue))
    }

    /// Writes the file (libxlsxwriter zips the sheets' temporary files into it).
    func close() throws(ExportError) {
        guard let handle else { return }
        self.handle = nil
        let error = workbook_close(handle)
        if let failure { throw ExportError(path: path, reason: failure) }
        guard error == LXW_NO_ERROR else {
            throw ExportError(path: path, reason: String(cString: lxw_strerror(error)))
        }
    }
}

/// One worksheet of a ``Workbook``; rows are written top to bottom.
struct Sheet {
    /// Excel's last row is 1,048,576; the header takes one.
    static let maxDataRows = 1_048_575
    /// Excel's longest cell text, in UTF-16 units.
    static let maxTextUnits = 32_767

    let workbook: Workbook
    let handle: UnsafeMutablePointer<lxw_worksheet>?
    let name: String

    func text(_ row: Int, _ column: Int, _ value: String, _ format: UnsafeMutablePointer<lxw_format>? = nil) {
        guard !value.isEmpty else { return }
        var value = value
        var hasNUL = false
        var hasEscapeLookalike = false
        var previous: UInt8 = 0
        for byte in value.utf8 {
            if byte == 0 { hasNUL = true }
            if previous == UInt8(ascii: "_") && byte == UInt8(ascii: "x") { hasEscapeLookalike = true }
            previous = byte
        }
        if hasNUL { value = value.replacingOccurrences(of: "\0", with: "\u{FFFD}") }  // as in the CSV
        if hasEscapeLookalike {
            // A literal `_xHHHH_` would read as OOXML's escape of a character: escape its `_`.
            value = value.replacing(/_x([0-9A-Fa-f]{4})_/) { "_x005F_x\($0.output.1)_" }
        }
        if value.utf8.count > Self.maxTextUnits && value.utf16.count > Self.maxTextUnits {
            // Excel refuses longer cells; the CSV keeps the whole text.
            var units = value.utf16.prefix(Self.maxTextUnits - 1)
            if let last = units.last, UTF16.isLeadSurrogate(last) { units = units.dropLast() }
            value = (String(units) ?? String(value.prefix(1000))) + "…"
        }
        workbook.check(
            worksheet_write_string(handle, lxw_row_t(row), lxw_col_t(column), value, format), "\(name) row \(row + 1)")
    }

    func number(_ row: Int, _ column: Int, _ value: Double, _ format: UnsafeMutablePointer<lxw_format>?) {
        workbook.check(
            worksheet_write_number(handle, lxw_row_t(row), lxw_col_t(column), value, format), "\(name) row \(row + 1)")
    }

    /// A date or date-time cell (UTC): `unix` seconds in Excel's serial days.
    func instant(_ row: Int, _ column: Int, _ unix: Int64, _ format: UnsafeMutablePointer<lxw_format>?) {
        workbook.check(
            worksheet_write_unixtime(handle, lxw_row_t(row), lxw_col_t(column), unix, format),
            "\(name) row \(row + 1)")
    }

    /// The header row in bold and frozen, and the column widths.
    func header(_ columns: [String], widths: [Double]) {
        let bold = workbook.format(nil, bold: true)
        for (i, width) in widths.enumerated() {
            workbook.check(worksheet_set_column(handle, lxw_col_t(i), lxw_col_t(i), width, nil), "\(name) widths")
        }
        for (i, column) in columns.enumerated() { text(0, i, column, bold) }
        worksheet_freeze_panes(handle, 1, 0)
    }

    /// An autofilter over the header and the `rows` rows written.
    func filter(columns: Int, rows: Int) {
        workbook.check(
            worksheet_autofilter(handle, 0, 0, lxw_row_t(max(rows, 1)), lxw_col_t(columns - 1)), "\(name) autofilter")
    }
}

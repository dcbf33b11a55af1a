import BillSyncCore
import BillSyncStore
import Foundation

/// One export format: its name, the folders it owns, and how it writes what is stale. Adding a
/// format is a folder with one of these and a line in ``ExportFormats/all``.
///
/// ```swift
/// struct XLSXFormat: ExportFormat {
///     let name = "xlsx"
///     func write(_ context: ExportContext) throws -> [ExportedFile] {
///         guard context.invoicesStale(["billsync.xlsx"]) else { return [] }
///         …
///     }
/// }
/// ```
public protocol ExportFormat: Sendable {
    /// Its name in the config's `exports` and in `billsync export --format`.
    var name: String { get }
    /// Folders of its own under the export directory, where leftovers of a killed export are cleared.
    var directories: [String] { get }
    /// Writes the files whose data changed (or everything, when ``ExportContext/full``); returns
    /// every file it looked at. Each file is written by write-temp + fsync + rename, and only
    /// when its content differs.
    func write(_ context: ExportContext) throws -> [ExportedFile]
}

extension ExportFormat {
    public var directories: [String] { [] }
}

/// Every export format billsync writes, one line each.
public enum ExportFormats {
    public static let all: [any ExportFormat] = [
        CSVFormat(),
        LedgerFormat(),
        BeancountFormat(),
        FOCUSFormat(),
        XLSXFormat(),
    ]

    /// What a config without `exports` writes.
    public static let defaults = ["csv", "ledger", "beancount"]

    public static func named(_ name: String) -> (any ExportFormat)? {
        all.first { $0.name == name }
    }

    /// `csv, ledger, beancount, focus`, for messages.
    public static var names: String { all.map(\.name).joined(separator: ", ") }
}

/// A format name that is not in ``ExportFormats/all``.
public struct UnknownExportFormat: Error, CustomStringConvertible {
    public let name: String
    public var description: String { "no export format \"\(name)\" (use \(ExportFormats.names))" }
}

/// What an export pass hands each format: the store, where and how to write, and what changed.
/// The formats of a pass write side by side, so what it builds once for several of them is
/// built under a lock; everything else in it is fixed when the pass starts.
public final class ExportContext: @unchecked Sendable {
    public let store: BillingStore
    public let directory: String
    public let bom: Bool
    public let accounting: AccountingConfig
    /// Journal vendor segment per source name; sources not listed use their provider's.
    public let vendors: [String: String]
    /// `reconcile_tolerance` per source name.
    public let tolerances: [String: ExactDecimal]
    /// Everything is generated again (`billsync export`, or changed export settings).
    public let full: Bool
    /// What the store marked as changed since the last export: `invoices`, `usage:YYYY-MM`.
    public let marks: [String: Int64]
    private var model: LedgerModel?
    private var accrualList: [Accrual]?
    private let modelLock = NSLock()
    private let accrualsLock = NSLock()

    init(
        store: BillingStore, directory: String, bom: Bool, accounting: AccountingConfig, vendors: [String: String],
        tolerances: [String: ExactDecimal], full: Bool, marks: [String: Int64]
    ) {
        self.tolerances = tolerances
        self.store = store
        self.directory = directory
        self.bom = bom
        self.accounting = accounting
        self.vendors = vendors
        self.full = full
        self.marks = marks
    }

    /// Whether `name` (a file or folder under the export directory) is missing.
    public func missing(_ name: String) -> Bool {
        !FileManager.default.fileExists(atPath: directory + "/" + name)
    }

    /// Whether files made from the invoices must be generated again: everything is, the
    /// invoices changed, or one of `files` is missing.
    public func invoicesStale(_ files: [String]) -> Bool {
        full || marks["invoices"] != nil || files.contains(where: missing)
    }

    /// Whether a usage month's files must be generated again.
    public func usageStale(_ month: String, file: String) -> Bool {
        full || marks["usage:" + month] != nil || missing(file)
    }

    /// Whether any usage month changed since the last export.
    public var usageChanged: Bool { full || marks.keys.contains { $0.hasPrefix("usage:") } }

    /// Whether files holding the accruals must be generated again: as ``invoicesStale(_:)``,
    /// or the usage of a noted month changed.
    public func accrualsStale(_ files: [String]) throws -> Bool {
        if invoicesStale(files) { return true }
        let months = Set(try accruals().map(\.month))
        return marks.keys.contains { $0.hasPrefix("usage:") && months.contains(String($0.dropFirst(6))) }
    }

    /// The accruals, read once per pass for every format that asks.
    func accruals() throws -> [Accrual] {
        accrualsLock.lock()
        defer { accrualsLock.unlock() }
        if let accrualList { return accrualList }
        let list = try Accrual.all(store: store)
        accrualList = list
        return list
    }

    /// The journals' transactions, built once per pass for every format that asks.
    func ledgerModel() throws -> LedgerModel {
        modelLock.lock()
        defer { modelLock.unlock() }
        if let model { return model }
        let built = try LedgerModel(store: store, accounting: accounting, vendors: vendors, accruals: try accruals())
        model = built
        return built
    }

    /// `name` written through a ``StreamedFile`` by `body`.
    func stream(_ name: String, rows: Int, _ body: (StreamedFile) throws -> Void) throws -> ExportedFile {
        let file = try StreamedFile(path: directory + "/" + name)
        do {
            try body(file)
            let written = try file.finish()
            return ExportedFile(path: file.path, bytes: file.size, rows: rows, written: written)
        } catch {
            file.abandon()
            throw error
        }
    }
}

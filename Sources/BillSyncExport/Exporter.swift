import BillSyncConfig
import BillSyncCore
import BillSyncStore
import Foundation

/// A file an export pass looked at.
public struct ExportedFile: Sendable, Equatable {
    public var path: String
    public var bytes: Int
    public var rows: Int
    /// False when the content was unchanged and the file left alone.
    public var written: Bool
}

/// Rewrites the configured exports from the store alone (no network).
public struct Exporter {
    public let store: BillingStore
    public let directory: String
    public let bom: Bool
    public let accounting: AccountingConfig
    /// Journal vendor segment per source name; sources not listed use their provider's default.
    public let vendors: [String: String]

    public init(store: BillingStore, directory: String, bom: Bool, accounting: AccountingConfig, vendors: [String: String]) {
        self.store = store
        self.directory = directory
        self.bom = bom
        self.accounting = accounting
        self.vendors = vendors
    }

    /// Writes the exports. With `onlyChanged`, only the files whose data the store marked as
    /// changed since the last export (or that are missing) are generated again; otherwise, or
    /// when the export settings changed, all of them are. Either way a file is rewritten only
    /// when its content differs.
    public func run(formats: [ExportFormat], onlyChanged: Bool = false) throws -> [ExportedFile] {
        AtomicFile.removeLeftovers(in: [directory, directory + "/usage", directory + "/focus"])
        let marks = try store.exportMarks()
        let fingerprint = fingerprint(formats)
        let stored = try store.meta("export_fingerprint")
        let full = !onlyChanged || stored != fingerprint
        func missing(_ name: String) -> Bool { !FileManager.default.fileExists(atPath: directory + "/" + name) }
        var invoiceFiles: [String] = []
        for format in formats {
            switch format {
            case .csv: invoiceFiles += ["invoices.csv", "line_items.csv"]
            case .ledger: invoiceFiles.append("billsync.journal")
            case .beancount: invoiceFiles.append("billsync.beancount")
            case .focus: invoiceFiles.append("focus")
            }
        }
        let invoicesChanged = !invoiceFiles.isEmpty && (full || marks["invoices"] != nil || invoiceFiles.contains(where: missing))
        // The journals share one model (transactions, not lines); everything else streams.
        let needsModel = invoicesChanged && (formats.contains(.ledger) || formats.contains(.beancount))
        let model = needsModel ? try LedgerModel(store: store, accounting: accounting, vendors: vendors) : nil
        var files: [ExportedFile] = []
        for format in formats {
            switch format {
            case .csv:
                if invoicesChanged {
                    files.append(try CSVExport.invoices(store: store, bom: bom, path: directory + "/invoices.csv"))
                    files.append(try CSVExport.lineItems(store: store, bom: bom, path: directory + "/line_items.csv"))
                }
                for month in try store.usageMonths() where full || marks["usage:" + month] != nil || missing("usage/\(month).csv") {
                    files.append(try CSVExport.usage(store: store, month: month, bom: bom, path: directory + "/usage/\(month).csv"))
                }
            case .ledger where invoicesChanged:
                files.append(try stream("billsync.journal", rows: model!.count) { try JournalExport.write(model!, to: $0) })
            case .beancount where invoicesChanged:
                files.append(try stream("billsync.beancount", rows: model!.count) { try BeancountExport.write(model!, to: $0) })
            case .focus where invoicesChanged:
                files += try FOCUSExport.write(store: store, directory: directory, bom: bom)
            case .ledger, .beancount, .focus:
                break
            }
        }
        try store.clearExportMarks(marks)
        try store.setMeta("export_fingerprint", fingerprint)
        return files
    }

    /// Everything besides the store's data that shapes the files.
    func fingerprint(_ formats: [ExportFormat]) -> String {
        let a = accounting
        return "v1;" + formats.map(\.rawValue).sorted().joined(separator: ",") + ";bom=\(bom);"
            + [a.payableAccount, a.expenseAccount, a.paymentAccount, a.prepaidAccount].joined(separator: ",") + ";"
            + vendors.keys.sorted().map { "\($0)=\(vendors[$0]!)" }.joined(separator: ",")
    }

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

import BillSyncConfig
import BillSyncCore
import BillSyncStore

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

    public func run(formats: [ExportFormat]) throws -> [ExportedFile] {
        AtomicFile.removeLeftovers(in: [directory, directory + "/usage", directory + "/focus"])
        var files: [ExportedFile] = []
        let invoices = try store.allInvoices()
        for format in formats {
            switch format {
            case .csv:
                files.append(try write(CSVExport.invoices(invoices, bom: bom), name: "invoices.csv"))
                files.append(try write(CSVExport.lineItems(invoices, bom: bom), name: "line_items.csv"))
                for month in try store.usageMonths() {
                    files.append(try write(try CSVExport.usage(store: store, month: month, bom: bom), name: "usage/\(month).csv"))
                }
            case .ledger:
                let model = LedgerModel(invoices: invoices, accounting: accounting, vendors: vendors)
                files.append(try write(JournalExport.render(model), rows: model.transactions.count, name: "billsync.journal"))
            case .beancount:
                let model = LedgerModel(invoices: invoices, accounting: accounting, vendors: vendors)
                files.append(try write(BeancountExport.render(model), rows: model.transactions.count, name: "billsync.beancount"))
            case .focus:
                for (month, csv) in FOCUSExport.files(invoices, bom: bom) {
                    files.append(try write(csv, name: "focus/\(month).csv"))
                }
            }
        }
        return files
    }

    func write(_ csv: CSVWriter, name: String) throws -> ExportedFile {
        try write(csv.bytes, rows: csv.rows, name: name)
    }

    func write(_ bytes: [UInt8], rows: Int, name: String) throws -> ExportedFile {
        let path = directory + "/" + name
        let written = try AtomicFile.write(bytes, to: path)
        return ExportedFile(path: path, bytes: bytes.count, rows: rows, written: written)
    }
}

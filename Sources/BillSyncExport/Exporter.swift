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

    public init(store: BillingStore, directory: String, bom: Bool, accounting: AccountingConfig) {
        self.store = store
        self.directory = directory
        self.bom = bom
        self.accounting = accounting
    }

    /// Formats this build can write.
    public static let available: Set<ExportFormat> = [.csv]

    public func run(formats: [ExportFormat]) throws -> [ExportedFile] {
        var files: [ExportedFile] = []
        let invoices = try store.allInvoices()
        for format in formats where Self.available.contains(format) {
            switch format {
            case .csv:
                files.append(try write(CSVExport.invoices(invoices, bom: bom), name: "invoices.csv"))
                files.append(try write(CSVExport.lineItems(invoices, bom: bom), name: "line_items.csv"))
                for month in try store.usageMonths() {
                    files.append(try write(try CSVExport.usage(store: store, month: month, bom: bom), name: "usage/\(month).csv"))
                }
            case .ledger, .beancount, .focus:
                break
            }
        }
        return files
    }

    func write(_ csv: CSVWriter, name: String) throws -> ExportedFile {
        let path = directory + "/" + name
        let written = try AtomicFile.write(csv.bytes, to: path)
        return ExportedFile(path: path, bytes: csv.bytes.count, rows: csv.rows, written: written)
    }
}

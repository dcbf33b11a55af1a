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
    /// `reconcile_tolerance` per source name (zero when not listed).
    public let tolerances: [String: ExactDecimal]

    public init(
        store: BillingStore, directory: String, bom: Bool, accounting: AccountingConfig, vendors: [String: String],
        tolerances: [String: ExactDecimal] = [:]
    ) {
        self.store = store
        self.directory = directory
        self.bom = bom
        self.accounting = accounting
        self.vendors = vendors
        self.tolerances = tolerances
    }

    /// Writes the exports named in `formats` (names of ``ExportFormats/all``). With
    /// `onlyChanged`, only the files whose data the store marked as changed since the last export
    /// (or that are missing) are generated again; otherwise, or when the export settings changed,
    /// all of them are. Either way a file is rewritten only when its content differs.
    public func run(formats names: [String], onlyChanged: Bool = false) throws -> [ExportedFile] {
        AtomicFile.removeLeftovers(
            in: [directory] + ExportFormats.all.flatMap(\.directories).map { directory + "/" + $0 })
        let marks = try store.exportMarks()
        let fingerprint = fingerprint(names)
        let stored = try store.meta("export_fingerprint")
        let full = !onlyChanged || stored != fingerprint
        let context = ExportContext(
            store: store, directory: directory, bom: bom, accounting: accounting, vendors: vendors,
            tolerances: tolerances, full: full, marks: marks)
        let formats = try names.map { name throws -> any ExportFormat in
            guard let format = ExportFormats.named(name) else { throw UnknownExportFormat(name: name) }
            return format
        }
        var files: [ExportedFile] = []
        for result in Self.writeSideBySide(formats, context) { files += try result.get() }
        try store.clearExportMarks(marks)
        try store.setMeta("export_fingerprint", fingerprint)
        return files
    }

    /// The formats' files, each format written by one thread, as many at once as there are
    /// cores: each reads the store through a connection of its own and writes files that no
    /// other format writes. Results in the order of `formats`; a format that fails does not stop
    /// the others, and the pass then fails with the first failure (its marks kept for the next).
    static func writeSideBySide(_ formats: [any ExportFormat], _ context: ExportContext) -> [Result<
        [ExportedFile], any Error
    >] {
        guard formats.count > 1 else { return formats.map { format in Result { try format.write(context) } } }
        let results = SlotResults<Result<[ExportedFile], any Error>>(count: formats.count)
        DispatchQueue.concurrentPerform(iterations: formats.count) { i in
            results.set(i, Result { try formats[i].write(context) })
        }
        return results.all
    }

    /// Everything besides the store's data that shapes the files.
    func fingerprint(_ names: [String]) -> String {
        let a = accounting
        return "v1;" + names.sorted().joined(separator: ",") + ";bom=\(bom);"
            + [a.payableAccount, a.expenseAccount, a.paymentAccount, a.prepaidAccount, a.accruedAccount].joined(
                separator: ",") + ";"
            + vendors.keys.sorted().map { "\($0)=\(vendors[$0]!)" }.joined(separator: ",") + ";"
            + tolerances.keys.sorted().map { "\($0)=\(tolerances[$0]!)" }.joined(separator: ",")
    }
}

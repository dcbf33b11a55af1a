/// `focus/YYYY-MM.csv`, FOCUS 1.2 cost and usage rows.
struct FOCUSFormat: ExportFormat {
    let name = "focus"
    var directories: [String] { ["focus"] }

    func write(_ context: ExportContext) throws -> [ExportedFile] {
        guard context.invoicesStale(["focus"]) else { return [] }
        return try FOCUSExport.write(store: context.store, directory: context.directory, bom: context.bom)
    }
}

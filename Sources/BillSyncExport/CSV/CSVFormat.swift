/// `invoices.csv`, `line_items.csv`, `accruals.csv`, `reconciliation.csv` and `usage/YYYY-MM.csv`.
struct CSVFormat: ExportFormat {
    let name = "csv"
    var directories: [String] { ["usage"] }

    func write(_ context: ExportContext) throws -> [ExportedFile] {
        var files: [ExportedFile] = []
        let directory = context.directory
        if context.invoicesStale(["invoices.csv", "line_items.csv"]) {
            files.append(
                try CSVExport.invoices(store: context.store, bom: context.bom, path: directory + "/invoices.csv"))
            files.append(
                try CSVExport.lineItems(store: context.store, bom: context.bom, path: directory + "/line_items.csv"))
        }
        if try context.accrualsStale(["accruals.csv"]) {
            files.append(
                try AccrualsCSV.write(try context.accruals(), bom: context.bom, path: directory + "/accruals.csv"))
        }
        // The usage checks read every invoiced month's hours: any usage change counts.
        if context.invoicesStale(["reconciliation.csv"]) || context.usageChanged {
            files.append(
                try Reconciliation.writeCSV(
                    store: context.store, tolerances: context.tolerances, bom: context.bom,
                    path: directory + "/reconciliation.csv"))
        }
        for month in try context.store.usageMonths() where context.usageStale(month, file: "usage/\(month).csv") {
            files.append(
                try CSVExport.usage(
                    store: context.store, month: month, bom: context.bom,
                    path: directory + "/usage/\(month).csv"))
        }
        return files
    }
}

/// `billsync.beancount`, for beancount v3.
struct BeancountFormat: ExportFormat {
    let name = "beancount"

    func write(_ context: ExportContext) throws -> [ExportedFile] {
        guard try context.accrualsStale(["billsync.beancount"]) else { return [] }
        let model = try context.ledgerModel()
        return [
            try context.stream("billsync.beancount", rows: model.count) { try BeancountExport.write(model, to: $0) }
        ]
    }
}

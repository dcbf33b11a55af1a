/// `billsync.journal`, for hledger and ledger-cli.
struct LedgerFormat: ExportFormat {
    let name = "ledger"

    func write(_ context: ExportContext) throws -> [ExportedFile] {
        guard try context.accrualsStale(["billsync.journal"]) else { return [] }
        let model = try context.ledgerModel()
        return [try context.stream("billsync.journal", rows: model.count) { try JournalExport.write(model, to: $0) }]
    }
}

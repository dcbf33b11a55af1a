import BillSyncCore

/// `billsync.journal` for hledger and ledger-cli: commodities, accounts, payees and tags
/// declared up front, then transactions in date order. Passes `hledger check -s
/// ordereddates payees` and `ledger --pedantic`.
enum JournalExport {
    static func write(_ model: LedgerModel, to file: StreamedFile) throws {
        var out = "; billsync journal: generated from billsync.sqlite3 by `billsync export`; edits are overwritten.\n\n"
        for currency in model.currencies { out += "commodity \(currency)\n" }
        out += "\n"
        for account in model.accounts { out += "account \(account)\n" }
        out += "\n"
        for vendor in model.vendors { out += "payee \(vendor)\n" }
        out += "\ntag source\ntag invoice\ntag accrual\n"
        try model.forEachTransaction { t in
            let id = LedgerText.token(t.invoiceID)
            out += "\n\(UTC.date(t.date)) \(t.cleared ? "*" : "!") (\(id)) \(t.vendor)\n"
            out += "    ; source: \(t.source)\n"
            if let month = t.accrualMonth {
                out += "    ; accrual: \(month)\n"
            } else {
                out += "    ; invoice: \(id)\n"
            }
            out += "    ; \(t.narration)\n"
            let width = max(40, (t.postings.map(\.account.count).max() ?? 0) + 2)
            for (account, amount) in t.postings {
                out +=
                    "    " + account + String(repeating: " ", count: width - account.count) + amount.description + " "
                    + t.currency + "\n"
            }
            if out.utf8.count >= 1 << 18 {
                try file.write(Array(out.utf8))
                out = ""
            }
        }
        try file.write(Array(out.utf8))
    }
}

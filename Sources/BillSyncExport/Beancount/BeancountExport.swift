import BillSyncCore

/// `billsync.beancount` for beancount v3: `open` directives, then the same transactions as
/// the journal, with `^` links tying each invoice to its payment. Passes `bean-check`.
enum BeancountExport {
    static func write(_ model: LedgerModel, to file: StreamedFile) throws {
        var out = "; billsync ledger: generated from billsync.sqlite3 by `billsync export`; edits are overwritten.\n"
        out += "option \"title\" \"billsync\"\n"
        for currency in operatingCurrencies(model) { out += "option \"operating_currency\" \"\(currency)\"\n" }
        out += "\n"
        let opened = model.firstDate.map { UTC.date($0) } ?? "1970-01-01"
        for currency in model.currencies { out += "\(opened) commodity \(currency)\n" }
        for account in model.accounts { out += "\(opened) open \(account)\n" }
        try model.forEachTransaction { t in
            let link = "^" + LedgerText.token(t.source + "." + t.invoiceID)
            out += "\n\(UTC.date(t.date)) \(t.cleared ? "*" : "!") \(quoted(t.vendor)) \(quoted(t.narration)) \(link)\n"
            out += "  source: \(quoted(t.source))\n"
            if let month = t.accrualMonth {
                out += "  accrual: \(quoted(month))\n"
            } else {
                out += "  invoice: \(quoted(t.invoiceID))\n"
            }
            for (account, amount) in t.postings {
                out += "  " + account + "  " + amount.description + " " + t.currency + "\n"
            }
            if out.utf8.count >= 1 << 18 {
                try file.write(Array(out.utf8))
                out = ""
            }
        }
        try file.write(Array(out.utf8))
    }

    /// The configured operating currencies; unless the config names them, every source's
    /// currency and every currency of the ledger, in that order.
    static func operatingCurrencies(_ model: LedgerModel) -> [String] {
        var out = model.accounting.operatingCurrencies
        if !model.accounting.operatingCurrenciesSet {
            for currency in model.currencies where !out.contains(currency) { out.append(currency) }
        }
        return out
    }

    /// A beancount string: quotes and backslashes escaped, control characters and line
    /// breaks turned into spaces.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\u{2028}" || scalar == "\u{2029}"
                    || scalar == "\u{85}"
                {
                    out += " "
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

import BillSyncCore
import BillSyncProviders
import BillSyncStore

/// One transaction of the journals: an invoice on its issue date, its payment on its
/// payment date, or a month's accrual (on its last day) and the accrual's reversal (on the next
/// month's first).
///
/// Invariant, checked by construction: every transaction's postings sum to zero per currency.
struct LedgerTransaction {
    var date: Int64
    var cleared: Bool
    var source: String
    var invoiceID: String
    var vendor: String
    var narration: String
    var postings: [(account: String, amount: ExactDecimal)]
    var currency: String
    /// `2026-11` for an accrual or its reversal (then `invoiceID` is `accrual-2026-11`).
    var accrualMonth: String? = nil
}

/// The double-entry view of the store that the journal and beancount writers share, streamed
/// in date order: one transaction per invoice on its issue date, one per payment on its
/// payment date, two per accrual. Memory stays flat whatever the history: a first pass
/// collects what the files declare up front (accounts, commodities, payees), a second one writes.
struct LedgerModel {
    let store: BillingStore
    let accounting: AccountingConfig
    let vendorOf: [String: String]
    /// The accruals' transactions, in date order (a few per source).
    let accrualTransactions: [LedgerTransaction]
    /// Every account used, sorted.
    private(set) var accounts: [String] = []
    private(set) var currencies: [String] = []
    private(set) var vendors: [String] = []
    private(set) var count = 0
    private(set) var firstDate: Int64?

    init(
        store: BillingStore, accounting: AccountingConfig, vendors vendorOf: [String: String], accruals: [Accrual] = []
    ) throws {
        self.store = store
        self.accounting = accounting
        self.vendorOf = vendorOf
        accrualTransactions = Self.transactions(accruals, accounting: accounting, vendorOf: vendorOf)
        var accounts = Set<String>()
        var currencies = Set<String>()
        var vendors = Set<String>()
        var count = 0
        var first: Int64?
        try forEachTransaction { t in
            for posting in t.postings { accounts.insert(posting.account) }
            currencies.insert(t.currency)
            vendors.insert(t.vendor)
            if first == nil { first = t.date }
            count += 1
        }
        self.accounts = accounts.sorted()
        self.currencies = currencies.sorted()
        self.vendors = vendors.sorted()
        self.count = count
        firstDate = first
    }

    static func vendor(_ source: String, provider: String, _ vendorOf: [String: String]) -> String {
        vendorOf[source] ?? ProviderRegistry.descriptor(for: ProviderKind(rawValue: provider))?.vendor ?? "Vendor"
    }

    /// Each accrual booked on its month's last day, and reversed on the next month's first.
    /// Pending (`!`) while the month waits for its invoice, cleared once the invoice is in.
    static func transactions(_ accruals: [Accrual], accounting: AccountingConfig, vendorOf: [String: String])
        -> [LedgerTransaction]
    {
        var out: [LedgerTransaction] = []
        for accrual in accruals where !accrual.lines.isEmpty {
            let vendor = vendor(accrual.source, provider: accrual.provider, vendorOf)
            let accrued = accounting.accruedAccount + ":" + vendor
            var postings = accrual.lines.map {
                (
                    account: accounting.expenseAccount + ":" + vendor + ":" + LedgerText.accountSegment($0.lineType),
                    amount: $0.amount
                )
            }
            postings.append((accrued, -accrual.usage.total))
            let upTo =
                accrual.complete
                ? "" : ", up to the hour of \(accrual.usage.lastHour.map(UTC.iso8601) ?? "-")"
            let period = "\(UTC.date(accrual.monthStart)) to \(UTC.date(accrual.accrualDate))"
            let cleared = accrual.status == .reversed
            let id = "accrual-" + accrual.month
            out.append(
                LedgerTransaction(
                    date: accrual.accrualDate, cleared: cleared, source: accrual.source, invoiceID: id,
                    vendor: vendor, narration: "Accrued usage for \(period) (\(accrual.usage.hours) hours\(upTo))",
                    postings: postings, currency: accrual.currency, accrualMonth: accrual.month))
            out.append(
                LedgerTransaction(
                    date: accrual.monthEnd, cleared: cleared, source: accrual.source, invoiceID: id, vendor: vendor,
                    narration: "Reversal of the usage accrued for \(period)",
                    postings: postings.map { ($0.account, -$0.amount) }, currency: accrual.currency,
                    accrualMonth: accrual.month))
        }
        return out.sorted { ($0.date, $0.source) < ($1.date, $1.source) }
    }

    func forEachTransaction(_ body: (LedgerTransaction) throws -> Void) throws {
        var pending = accrualTransactions[...]
        try forEachInvoiceTransaction { t in
            while let next = pending.first, next.date <= t.date {
                try body(next)
                pending = pending.dropFirst()
            }
            try body(t)
        }
        for t in pending { try body(t) }
    }

    func forEachInvoiceTransaction(_ body: (LedgerTransaction) throws -> Void) throws {
        try store.forEachLedgerEntry { payment, h, lines in
            let vendor = Self.vendor(h.source, provider: h.provider, vendorOf)
            let payable = accounting.payableAccount + ":" + vendor
            let prepaid = accounting.prepaidAccount + ":" + vendor
            let total = try ExactDecimal(parsing: h.total)
            let period = "\(UTC.date(h.periodStart)) to \(UTC.date(h.periodEnd))"
            if payment {
                let credits = try ExactDecimal(parsing: h.creditsApplied)
                var postings: [(account: String, amount: ExactDecimal)] = [(payable, total)]
                if !credits.isZero { postings.append((prepaid, -credits)) }
                let cash = total - credits
                if !cash.isZero || postings.count == 1 { postings.append((accounting.paymentAccount, -cash)) }
                try body(
                    LedgerTransaction(
                        date: h.paidOn ?? h.issuedOn, cleared: true, source: h.source, invoiceID: h.id, vendor: vendor,
                        narration: "Payment of the invoice for \(period)", postings: postings, currency: h.currency))
                return
            }
            var expenses: [(account: String, amount: ExactDecimal)] = []
            for line in lines {
                let account =
                    line.lineType == "prepaid-credit-purchase"
                    ? prepaid
                    : accounting.expenseAccount + ":" + vendor + ":" + LedgerText.accountSegment(line.lineType)
                let amount = try ExactDecimal(parsing: line.amount)
                if let i = expenses.firstIndex(where: { $0.account == account }) {
                    expenses[i].amount += amount
                } else {
                    expenses.append((account, amount))
                }
            }
            var postings = expenses.filter { !$0.amount.isZero }
            postings.append((payable, -total))
            try body(
                LedgerTransaction(
                    date: h.issuedOn, cleared: h.status == InvoiceStatus.paid.rawValue, source: h.source,
                    invoiceID: h.id, vendor: vendor, narration: "Invoice for \(period)", postings: postings,
                    currency: h.currency))
        }
    }
}

/// Turning provider text into something no journal parser can trip over (ledger refuses
/// lines over 4096 bytes, so names are also kept short).
enum LedgerText {
    static let maxSegment = 48
    static let maxToken = 100

    /// `byoc-gpu-memory` → `ByocGpuMemory`; anything else reduced to ASCII letters and digits.
    static func accountSegment(_ text: String) -> String {
        var out = ""
        var upper = true
        for scalar in text.unicodeScalars {
            if scalar.isASCII, scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
                out += upper ? String(scalar).uppercased() : String(scalar)
                upper = false
            } else {
                upper = true
            }
        }
        if out.isEmpty { return "Other" }
        if let first = out.unicodeScalars.first, ("0"..."9").contains(first) { out = "X" + out }
        return String(out.prefix(maxSegment))
    }

    /// Ids as codes, tags and links: ASCII letters, digits and `_ . - /`; anything else becomes `_`.
    static func token(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            let safe =
                scalar.isASCII
                && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                    || "_.-/".unicodeScalars.contains(scalar))
            out.unicodeScalars.append(safe ? scalar : "_")
        }
        return out.isEmpty ? "_" : String(out.prefix(maxToken))
    }
}

/// The sanitising rules of the journal formats, for callers and tests.
public enum JournalNames {
    public static func segment(_ text: String) -> String { LedgerText.accountSegment(text) }
    public static func token(_ text: String) -> String { LedgerText.token(text) }
}

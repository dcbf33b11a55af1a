import BillSyncConfig
import BillSyncCore
import BillSyncStore

/// The double-entry view of the store that the journal and beancount writers share: one
/// transaction per invoice on its issue date, one per payment on its payment date.
///
/// Invariant, checked by construction: every transaction's postings sum to zero per currency.
struct LedgerTransaction {
    enum Kind: Int { case invoice = 0, payment = 1 }

    var date: Int64
    var kind: Kind
    var cleared: Bool
    var source: String
    var invoiceID: String
    var vendor: String
    var narration: String
    var postings: [(account: String, amount: ExactDecimal)]
    var currency: String
}

struct LedgerModel {
    let transactions: [LedgerTransaction]
    /// Every account used, sorted.
    let accounts: [String]
    let currencies: [String]
    let vendors: [String]

    /// Built from the store's rows as they stream by: invoices first (small), then their
    /// lines, summed per account; no invoice is held with all its lines.
    init(store: BillingStore, accounting: AccountingConfig, vendors vendorOf: [String: String]) throws {
        var headers: [BillingStore.InvoiceRow] = []
        try store.forEachInvoiceRow { headers.append($0) }
        var vendorOfInvoice: [String] = []
        vendorOfInvoice.reserveCapacity(headers.count)
        for h in headers {
            vendorOfInvoice.append(vendorOf[h.source] ?? ProviderKind(rawValue: h.provider)?.defaultVendor ?? "Vendor")
        }
        // Lines come in the invoices' order: walk both together.
        var expenses: [[(account: String, amount: ExactDecimal)]] = Array(repeating: [], count: headers.count)
        var index = 0
        try store.forEachLineItemRow { line in
            while index < headers.count && (headers[index].source != line.source || headers[index].id != line.invoiceID) { index += 1 }
            guard index < headers.count else { return }
            let vendor = vendorOfInvoice[index]
            let account = line.lineType == "prepaid-credit-purchase"
                ? accounting.prepaidAccount + ":" + vendor
                : accounting.expenseAccount + ":" + vendor + ":" + LedgerText.accountSegment(line.lineType)
            let amount = try ExactDecimal(parsing: line.amount)
            if let i = expenses[index].firstIndex(where: { $0.account == account }) {
                expenses[index][i].amount += amount
            } else {
                expenses[index].append((account, amount))
            }
        }
        var transactions: [LedgerTransaction] = []
        for (i, h) in headers.enumerated() {
            let vendor = vendorOfInvoice[i]
            let payable = accounting.payableAccount + ":" + vendor
            let prepaid = accounting.prepaidAccount + ":" + vendor
            let total = try ExactDecimal(parsing: h.total)
            let credits = try ExactDecimal(parsing: h.creditsApplied)
            var postings = expenses[i].filter { !$0.amount.isZero }
            postings.append((payable, -total))
            let period = "\(UTC.date(h.periodStart)) to \(UTC.date(h.periodEnd))"
            let paid = h.status == InvoiceStatus.paid.rawValue
            transactions.append(LedgerTransaction(
                date: h.issuedOn, kind: .invoice, cleared: paid, source: h.source, invoiceID: h.id,
                vendor: vendor, narration: "Invoice for \(period)", postings: postings, currency: h.currency))
            if paid, let paidOn = h.paidOn {
                var payment: [(account: String, amount: ExactDecimal)] = [(payable, total)]
                if !credits.isZero { payment.append((prepaid, -credits)) }
                let cash = total - credits
                if !cash.isZero || payment.count == 1 { payment.append((accounting.paymentAccount, -cash)) }
                transactions.append(LedgerTransaction(
                    date: paidOn, kind: .payment, cleared: true, source: h.source, invoiceID: h.id, vendor: vendor,
                    narration: "Payment of the invoice for \(period)", postings: payment, currency: h.currency))
            }
        }
        transactions.sort {
            ($0.date, $0.kind.rawValue, $0.source, $0.invoiceID) < ($1.date, $1.kind.rawValue, $1.source, $1.invoiceID)
        }
        self.transactions = transactions
        accounts = Set(transactions.flatMap { $0.postings.map(\.account) }).sorted()
        currencies = Set(transactions.map(\.currency)).sorted()
        self.vendors = Set(transactions.map(\.vendor)).sorted()
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
            let safe = scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "_.-/".unicodeScalars.contains(scalar))
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

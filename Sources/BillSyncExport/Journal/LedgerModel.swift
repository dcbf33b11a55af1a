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

    init(invoices: [StoredInvoice], accounting: AccountingConfig, vendors vendorOf: [String: String]) {
        var transactions: [LedgerTransaction] = []
        for stored in invoices {
            let inv = stored.invoice
            let vendor = vendorOf[stored.source] ?? ProviderKind(rawValue: stored.provider)?.defaultVendor ?? "Vendor"
            let payable = accounting.payableAccount + ":" + vendor
            let prepaid = accounting.prepaidAccount + ":" + vendor
            var byAccount: [String: ExactDecimal] = [:]
            var order: [String] = []
            for line in inv.lineItems ?? [] {
                let account = line.lineType == "prepaid-credit-purchase"
                    ? prepaid
                    : accounting.expenseAccount + ":" + vendor + ":" + LedgerText.accountSegment(line.lineType)
                if byAccount[account] == nil { order.append(account) }
                byAccount[account, default: .zero] += line.amount
            }
            var postings = order.compactMap { account in byAccount[account]!.isZero ? nil : (account, byAccount[account]!) }
            postings.append((payable, -inv.total))
            let period = "\(UTC.date(inv.periodStart)) to \(UTC.date(inv.periodEnd))"
            transactions.append(LedgerTransaction(
                date: inv.issuedOn, kind: .invoice, cleared: inv.status == .paid, source: stored.source, invoiceID: inv.id,
                vendor: vendor, narration: "Invoice for \(period)", postings: postings, currency: inv.currency))
            if inv.status == .paid, let paidOn = stored.paidOn {
                var payment: [(String, ExactDecimal)] = [(payable, inv.total)]
                if !inv.creditsApplied.isZero { payment.append((prepaid, -inv.creditsApplied)) }
                let cash = inv.total - inv.creditsApplied
                if !cash.isZero || payment.count == 1 { payment.append((accounting.paymentAccount, -cash)) }
                transactions.append(LedgerTransaction(
                    date: paidOn, kind: .payment, cleared: true, source: stored.source, invoiceID: inv.id, vendor: vendor,
                    narration: "Payment of the invoice for \(period)", postings: payment, currency: inv.currency))
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

import BillSyncCore

/// One page of an invoice list, newest first.
public struct InvoicePage: Sendable {
    public var invoices: [Invoice]
    /// Where the next page starts; nil on the last page.
    public var next: String?
    /// How many invoices the list says it holds, when it says (Typesense Cloud's `total`).
    public var listTotal: Int64?

    public init(invoices: [Invoice], next: String?, listTotal: Int64? = nil) {
        self.invoices = invoices
        self.next = next
        self.listTotal = listTotal
    }
}

public struct UsagePage: Sendable {
    public var hours: [UsageHour]
    public var next: String?

    public init(hours: [UsageHour], next: String?) {
        self.hours = hours
        self.next = next
    }
}

/// What a provider implements: fetch a page, map it to the model, say where the next
/// page starts. Adding a provider means a folder with one of these and a line in
/// ``ProviderRegistry``.
public protocol BillingProvider: AnyObject {
    var client: ProviderClient { get }
    /// The list endpoint, for logs and errors.
    var invoiceEndpoint: String { get }

    /// A page of the invoice list; `cursor` nil is the newest page.
    func invoicePage(cursor: String?) throws(ProviderError) -> InvoicePage
    /// The mapping half of `invoicePage`: a parsed response to the model.
    func decodeInvoicePage(_ json: JSONValue, cursor: String?) throws(ProviderError) -> InvoicePage

    /// True when list pages carry no line items and a detail request brings them.
    var needsInvoiceDetail: Bool { get }
    /// The invoice with its line items (only called when `needsInvoiceDetail`).
    func invoiceDetail(id: String) throws(ProviderError) -> Invoice
    func decodeInvoiceDetail(_ json: JSONValue, id: String) throws(ProviderError) -> Invoice

    /// True when the provider has hourly usage.
    var hasUsage: Bool { get }
    /// The usage endpoint, for logs and errors.
    var usageEndpoint: String { get }
    /// Usage in `[start, end)`; `cursor` nil is the window's first page.
    func usagePage(start: Int64, end: Int64, cursor: String?) throws(ProviderError) -> UsagePage
    func decodeUsagePage(_ json: JSONValue, start: Int64, end: Int64, cursor: String?) throws(ProviderError)
        -> UsagePage
    /// The longest time range one usage window asks for, in hours; nil when the list pages
    /// any range by cursor, so that a backfill is one window from its position to the last
    /// whole hour and every page but the last is full.
    var usageWindowHours: Int64? { get }
}

extension BillingProvider {
    public var needsInvoiceDetail: Bool { false }
    public func invoiceDetail(id: String) throws(ProviderError) -> Invoice {
        throw .badField(endpoint: invoiceEndpoint, detail: "this provider has no invoice detail endpoint")
    }
    public func decodeInvoiceDetail(_ json: JSONValue, id: String) throws(ProviderError) -> Invoice {
        throw .badField(endpoint: invoiceEndpoint, detail: "this provider has no invoice detail endpoint")
    }
    public func decodeUsagePage(_ json: JSONValue, start: Int64, end: Int64, cursor: String?) throws(ProviderError)
        -> UsagePage
    {
        UsagePage(hours: [], next: nil)
    }
    public var hasUsage: Bool { false }
    public var usageEndpoint: String { "" }
    public func usagePage(start: Int64, end: Int64, cursor: String?) throws(ProviderError) -> UsagePage {
        UsagePage(hours: [], next: nil)
    }
    public var usageWindowHours: Int64? { nil }
}

/// Runs a decoding step and reports a bad field against the endpoint it came from.
func decoding<T>(_ endpoint: String, _ body: () throws(FieldError) -> T) throws(ProviderError) -> T {
    do { return try body() } catch { throw .badField(endpoint: endpoint, detail: error.description) }
}

import BillSyncCore

/// UsageFlow (self-hosted): one unpaginated list, amounts in major units of the
/// configured currency, ISO-8601 times.
public final class UsageFlowProvider: BillingProvider {
    public let client: ProviderClient
    let currency: String

    public init(client: ProviderClient, currency: String) {
        self.client = client
        self.currency = currency
    }

    public var invoiceEndpoint: String { "/api/invoices" }

    public func invoicePage(cursor: String?) throws(ProviderError) -> InvoicePage {
        try decodeInvoicePage(try client.getJSON(invoiceEndpoint), cursor: cursor)
    }

    public func decodeInvoicePage(_ json: JSONValue, cursor: String?) throws(ProviderError) -> InvoicePage {
        let endpoint = invoiceEndpoint
        return try decoding(endpoint) { () throws(FieldError) -> InvoicePage in
            var invoices: [Invoice] = []
            for item in try JSONField(json).require("invoices").array() { invoices.append(try invoice(item)) }
            return InvoicePage(invoices: invoices, next: nil)
        }
    }

    static func instant(_ field: JSONField) throws(FieldError) -> Int64 {
        let text = try field.string()
        guard let t = UTC.parse(text) else { throw FieldError(path: field.path, problem: "\"\(text.prefix(40))\" is not an ISO-8601 time") }
        return t
    }

    func invoice(_ item: JSONField) throws(FieldError) -> Invoice {
        let id = try item.require("id").text()
        let amount = try item.require("amount").decimal()
        let raw = try item.require("status").string()
        let start = try Self.instant(item.require("periodStart"))
        let end = Normalization.exclusiveEnd(try Self.instant(item.require("periodEnd")))
        let created = try item.optional("createdAt").map { f throws(FieldError) in try Self.instant(f) } ?? end
        let status: InvoiceStatus = switch raw {
        case "PENDING": .open
        case "PAID": .paid
        case "FAILED": .failed
        default: .unknown
        }
        let line = LineItem(lineType: "usage", category: .usage,
                            description: "Usage \(UTC.date(start)) to \(UTC.date(end))", amount: amount)
        return Invoice(id: id, status: status, providerStatus: raw, currency: currency, periodStart: start, periodEnd: end,
                       issuedOn: UTC.startOfDay(created), total: amount, lineItems: [line])
    }
}

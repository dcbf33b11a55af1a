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
        guard let t = UTC.parse(text) else {
            throw FieldError(path: field.path, problem: "\"\(text.prefix(40))\" is not an ISO-8601 time")
        }
        return t
    }

    /// `id` and `amount` are needed, and at least one of the three times to date the money;
    /// the others fall back as the README's field table says. UsageFlow bills calendar months and
    /// creates each invoice at the end of its period (its docs' example: March, created April 1).
    func invoice(_ item: JSONField) throws(FieldError) -> Invoice {
        let id = try item.require("id").text()
        let amount = try item.require("amount").decimal()
        var fallbacks: [String] = []
        let raw = try item.optional("status")?.string()
        if raw == nil { fallbacks.append("status") }
        func time(_ key: String) throws(FieldError) -> Int64? {
            guard let field = try item.optional(key) else {
                fallbacks.append(key)
                return nil
            }
            return try Self.instant(field)
        }
        let statedStart = try time("periodStart")
        let statedEnd = try time("periodEnd").map(Normalization.exclusiveEnd)
        let created = try time("createdAt")
        // A missing bound of the period is the calendar month's the other bound is in; with
        // neither, the month before the one the invoice was created in.
        let start: Int64
        let end: Int64
        switch (statedStart, statedEnd, created) {
        case (let s?, let e?, _): (start, end) = (s, e)
        case (let s?, nil, _): (start, end) = (s, UTC.monthContaining(s).end)
        case (nil, let e?, _): (start, end) = (UTC.monthContaining(e - 1).start, e)
        case (nil, nil, let c?):
            end = UTC.monthContaining(c).start
            start = UTC.monthContaining(end - 1).start
        case (nil, nil, nil):
            throw FieldError(
                path: item.path + ".periodEnd",
                problem:
                    "required field is missing (and so are periodStart and createdAt, which could date the invoice)")
        }
        let status: InvoiceStatus =
            switch raw {
            case "PENDING": .open
            case "PAID": .paid
            case "FAILED": .failed
            default: .unknown
            }
        let line = LineItem(
            lineType: "usage", category: .usage,
            description: "Usage \(UTC.date(start)) to \(UTC.date(end))", amount: amount)
        var invoice = Invoice(
            id: id, status: status, providerStatus: raw ?? "", currency: currency, periodStart: start,
            periodEnd: end, issuedOn: UTC.startOfDay(created ?? end), total: amount, lineItems: [line])
        invoice.fallbacks = fallbacks
        return invoice
    }
}

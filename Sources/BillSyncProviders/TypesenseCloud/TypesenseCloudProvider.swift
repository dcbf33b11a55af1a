import BillSyncCore
import Foundation

/// Typesense Cloud: page-numbered list without line items, a detail request per invoice
/// for its lines; integer cents.
public final class TypesenseCloudProvider: BillingProvider {
    public let client: ProviderClient
    static let perPage = 50

    public init(client: ProviderClient) {
        self.client = client
    }

    public var invoiceEndpoint: String { "/api/v1/invoices" }
    public var needsInvoiceDetail: Bool { true }

    public func invoicePage(cursor: String?) throws(ProviderError) -> InvoicePage {
        let endpoint = invoiceEndpoint
        let page = cursor.flatMap { Int($0) } ?? 1
        return try decodeInvoicePage(
            try client.getJSON(endpoint, query: [("page", String(page)), ("per_page", String(Self.perPage))]),
            cursor: cursor)
    }

    public func decodeInvoicePage(_ json: JSONValue, cursor: String?) throws(ProviderError) -> InvoicePage {
        let endpoint = invoiceEndpoint
        let page = cursor.flatMap { Int($0) } ?? 1
        return try decoding(endpoint) { () throws(FieldError) -> InvoicePage in
            let root = JSONField(json)
            let items = try root.require("invoices").array()
            var invoices: [Invoice] = []
            for item in items { invoices.append(try Self.invoice(item, withLines: false)) }
            let total = try root.optional("total")?.int64()
            let hasMore: Bool
            if let total {
                hasMore = !items.isEmpty && Int64(page * Self.perPage) < total
            } else {
                hasMore = items.count == Self.perPage
            }
            return InvoicePage(invoices: invoices, next: hasMore ? String(page + 1) : nil, listTotal: total)
        }
    }

    public func invoiceDetail(id: String) throws(ProviderError) -> Invoice {
        try decodeInvoiceDetail(try client.getJSON("/api/v1/invoices/" + ProviderClient.percentEncode(id)), id: id)
    }

    public func decodeInvoiceDetail(_ json: JSONValue, id: String) throws(ProviderError) -> Invoice {
        let endpoint = "/api/v1/invoices/" + ProviderClient.percentEncode(id)
        return try decoding(endpoint) { () throws(FieldError) -> Invoice in
            let invoice = try Self.invoice(JSONField(json), withLines: true)
            guard invoice.id == id else {
                throw FieldError(path: "$.id", problem: "detail for \(id) answered with invoice \(invoice.id)")
            }
            return invoice
        }
    }

    static func status(_ raw: String) -> InvoiceStatus {
        switch raw {
        case "paid": .paid
        case "due": .open
        default: .unknown
        }
    }

    /// `id` (the detail's address), `amount_cents` and the period are needed; every other field
    /// falls back as the README's field table says.
    static func invoice(_ item: JSONField, withLines: Bool) throws(FieldError) -> Invoice {
        let id = try item.require("id").text()
        let total = try item.require("amount_cents").decimal().shifted(by: -2)
        let start = try item.require("period_starts_at").timestamp()
        let end = Normalization.exclusiveEnd(try item.require("period_ends_at").timestamp())
        var fallbacks: [String] = []
        let raw = try item.optional("status")?.string()
        if raw == nil { fallbacks.append("status") }
        let dated = try item.optional("invoice_date")?.timestamp()
        if dated == nil { fallbacks.append("invoice_date") }
        let credits =
            try item.optional("payment")?.optional("paid_via_credits_cents")?.decimal().shifted(by: -2) ?? .zero
        var lines: [LineItem]?
        if withLines {
            if let items = try item.optional("line_items") {
                lines = []
                for line in try items.array() { lines!.append(try lineItem(line)) }
            } else {
                // The detail names no lines: the whole total is one line, so the money is there
                // and says what it is not.
                fallbacks.append("line_items")
                lines = [
                    LineItem(
                        lineType: "unitemized", category: .usage,
                        description: "Invoice total (the provider listed no line items)", amount: total)
                ]
            }
        }
        var invoice = Invoice(
            id: id, number: try item.optional("number")?.text() ?? "", status: raw.map(status) ?? .unknown,
            providerStatus: raw ?? "", currency: "USD", periodStart: start, periodEnd: end,
            issuedOn: UTC.startOfDay(dated ?? end), total: total, creditsApplied: credits,
            url: try item.optional("invoice_html_url")?.string() ?? "", lineItems: lines)
        invoice.fallbacks = fallbacks
        return invoice
    }

    static func lineItem(_ line: JSONField) throws(FieldError) -> LineItem {
        let rawType = try line.require("line_item_type").string()
        let type =
            rawType.utf8.contains(UInt8(ascii: "_"))
            ? String(decoding: rawType.utf8.map { $0 == UInt8(ascii: "_") ? UInt8(ascii: "-") : $0 }, as: UTF8.self)
            : rawType
        let amount = try line.require("price_cents").decimal().shifted(by: -2)
        let category: LineCategory
        let unit: String
        switch type {
        case "node":
            category = .usage
            unit = "node-hour"
        case "bandwidth":
            category = .usage
            unit = "GB"
        case "support":
            category = .purchase
            unit = "plan"
        case "prepaid-credit-purchase":
            category = .purchase
            unit = "credit"
        default:
            category = amount < .zero ? .credit : .usage
            unit = ""
        }
        let parameters = try line.optional("parameters")
        let resource = try parameters?.optional("cluster_id")?.text() ?? ""
        var attributes = ""
        if let parameters, case .object(let members) = parameters.value, !members.isEmpty {
            attributes = parameters.value.canonicalText
        }
        return LineItem(
            lineType: type, category: category, description: try line.optional("description")?.string() ?? type,
            quantity: try line.optional("quantity")?.decimal(), unit: unit,
            unitPrice: try line.optional("unit_price_cents")?.decimal().shifted(by: -2),
            amount: amount, resourceID: resource, attributes: attributes)
    }
}

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
        try decodeInvoiceDetail(body: try client.get("/api/v1/invoices/" + ProviderClient.percentEncode(id)), id: id)
    }

    /// A detail from the response bytes: scanned directly when it has the documented shape,
    /// else parsed and decoded the general way (which also names what is wrong).
    public func decodeInvoiceDetail(body: [UInt8], id: String) throws(ProviderError) -> Invoice {
        // Another invoice's detail goes the general way too, which words the mismatch.
        if let invoice = scanInvoiceDetail(body: body), invoice.id == id { return invoice }
        return try decodeInvoiceDetail(ProviderClient.parse(body, endpoint: detailEndpoint(id)), id: id)
    }

    /// The direct reading alone: nil where the general decoder has to decide.
    public func scanInvoiceDetail(body: [UInt8]) -> Invoice? {
        TypesenseDetailScanner.scan(body).map { Self.assemble($0, withLines: true) }
    }

    func detailEndpoint(_ id: String) -> String { "/api/v1/invoices/" + ProviderClient.percentEncode(id) }

    public func decodeInvoiceDetail(_ json: JSONValue, id: String) throws(ProviderError) -> Invoice {
        return try decoding(detailEndpoint(id)) { () throws(FieldError) -> Invoice in
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

    /// What an invoice's JSON says, before the rules below make it an ``Invoice``: the general
    /// decoder and the detail scanner both fill it, so the rules exist once.
    struct InvoiceFields {
        var id: String
        var totalCents: ExactDecimal
        var periodStart: Int64
        var periodEnd: Int64  // as given, inclusive
        var status: String?
        var invoiceDate: Int64?
        var creditsCents: ExactDecimal?
        /// nil where the detail names no `line_items`.
        var lines: [LineFields]?
        var number: String?
        var url: String?
    }

    struct LineFields {
        var type: String
        var priceCents: ExactDecimal
        var clusterID: String?
        /// The `parameters` as compact JSON with sorted keys; empty when there are none.
        var attributes: String
        var description: String?
        var quantity: ExactDecimal?
        var unitPriceCents: ExactDecimal?
    }

    /// `id` (the detail's address), `amount_cents` and the period are needed; every other field
    /// falls back as the README's field table says.
    static func invoice(_ item: JSONField, withLines: Bool) throws(FieldError) -> Invoice {
        var fields = InvoiceFields(
            id: try item.require("id").text(), totalCents: try item.require("amount_cents").decimal(),
            periodStart: try item.require("period_starts_at").timestamp(),
            periodEnd: try item.require("period_ends_at").timestamp())
        fields.status = try item.optional("status")?.string()
        fields.invoiceDate = try item.optional("invoice_date")?.timestamp()
        fields.creditsCents = try item.optional("payment")?.optional("paid_via_credits_cents")?.decimal()
        if withLines, let items = try item.optional("line_items") {
            var lines: [LineFields] = []
            for line in try items.array() { lines.append(try lineFields(line)) }
            fields.lines = lines
        }
        fields.number = try item.optional("number")?.text()
        fields.url = try item.optional("invoice_html_url")?.string()
        return assemble(fields, withLines: withLines)
    }

    static func lineFields(_ line: JSONField) throws(FieldError) -> LineFields {
        var fields = LineFields(
            type: try line.require("line_item_type").string(), priceCents: try line.require("price_cents").decimal(),
            attributes: "")
        let parameters = try line.optional("parameters")
        fields.clusterID = try parameters?.optional("cluster_id")?.text()
        if let parameters, case .object(let members) = parameters.value, !members.isEmpty {
            fields.attributes = parameters.value.canonicalText
        }
        fields.description = try line.optional("description")?.string()
        fields.quantity = try line.optional("quantity")?.decimal()
        fields.unitPriceCents = try line.optional("unit_price_cents")?.decimal()
        return fields
    }

    static func assemble(_ fields: InvoiceFields, withLines: Bool) -> Invoice {
        let total = fields.totalCents.shifted(by: -2)
        var fallbacks: [String] = []
        if fields.status == nil { fallbacks.append("status") }
        if fields.invoiceDate == nil { fallbacks.append("invoice_date") }
        let end = Normalization.exclusiveEnd(fields.periodEnd)
        var lines: [LineItem]?
        if withLines {
            if let given = fields.lines {
                lines = given.map(lineItem)
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
            id: fields.id, number: fields.number ?? "", status: fields.status.map(status) ?? .unknown,
            providerStatus: fields.status ?? "", currency: "USD", periodStart: fields.periodStart, periodEnd: end,
            issuedOn: UTC.startOfDay(fields.invoiceDate ?? end), total: total,
            creditsApplied: fields.creditsCents?.shifted(by: -2) ?? .zero, url: fields.url ?? "", lineItems: lines)
        invoice.fallbacks = fallbacks
        return invoice
    }

    static func lineItem(_ fields: LineFields) -> LineItem {
        let rawType = fields.type
        let type =
            rawType.utf8.contains(UInt8(ascii: "_"))
            ? String(decoding: rawType.utf8.map { $0 == UInt8(ascii: "_") ? UInt8(ascii: "-") : $0 }, as: UTF8.self)
            : rawType
        let amount = fields.priceCents.shifted(by: -2)
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
        return LineItem(
            lineType: type, category: category, description: fields.description ?? type,
            quantity: fields.quantity, unit: unit, unitPrice: fields.unitPriceCents?.shifted(by: -2),
            amount: amount, resourceID: fields.clusterID ?? "", attributes: fields.attributes)
    }
}

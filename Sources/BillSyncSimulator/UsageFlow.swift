/// UsageFlow's invoice API: one unpaginated list of monthly invoices, amounts in major
/// units of an unstated currency, ISO-8601 times.
struct UsageFlowAPI: ProviderAPI {
    let options: SimulatorOptions

    var kind: SimulatedProvider { .usageflow }
    var apiKey: String { options.usageflowKey }
    var rateLimit: RateLimitPolicy? { nil }
    var unauthorizedMessage: String { "Invalid API key" }
    var rateLimitedMessage: String { "Too many requests" }

    /// Amounts are held in millionths of a major unit.
    static let amountScale = 6

    struct Invoice: Sendable {
        /// 0 is the oldest invoice.
        let index: Int
        let status: String
        let amount: Int64
        let periodStart: Int64
        let periodEnd: Int64
        let id: String

        var createdAt: Int64 { periodEnd }
    }

    /// How many invoices exist and how many were generated (the rest were added by the
    /// control API); the newest generated one covers the month before `now`'s.
    struct Layout {
        let generated: Int
        let count: Int
        let newestGeneratedMonth: Int64
    }

    func layout(now: Int64, changes: InvoiceChanges.Snapshot) -> Layout {
        let generated = max(0, options.usageflowInvoices)
        return Layout(
            generated: generated, count: generated + changes.added(.usageflow, account: ""),
            newestGeneratedMonth: UTCCalendar.monthIndex(containing: now) - 1)
    }

    func invoice(_ index: Int, layout: Layout, changes: InvoiceChanges.Snapshot) -> Invoice {
        var rng = SeededRandom(seed: options.seed, .usageflowInvoice, Int64(index))
        // Whole (`120`), one decimal (`120.5`), two (`99.99`) or six (`0.123456`).
        let amount: Int64 =
            switch rng.below(4) {
            case 0: rng.int(in: 50...2_000) * 1_000_000
            case 1: rng.int(in: 500...20_000) * 100_000
            case 2: rng.int(in: 1_000...200_000) * 10_000
            default: rng.int(in: 1...999_999)
            }
        let month = layout.newestGeneratedMonth - Int64(layout.generated - 1 - index)
        let id = invoiceID(index)
        let status =
            changes.status(.usageflow, id: id)
            ?? (index >= layout.generated - 1 ? "PENDING" : index == layout.generated - 3 ? "FAILED" : "PAID")
        return Invoice(
            index: index, status: status, amount: amount, periodStart: UTCCalendar.start(ofMonth: month),
            periodEnd: UTCCalendar.start(ofMonth: month + 1), id: id)
    }

    /// `uf_inv_N`, or `N` with `numericIDs`.
    private func invoiceID(_ index: Int) -> String {
        options.numericIDs ? String(index + 1) : "uf_inv_\(index + 1)"
    }

    private func invoiceIndex(id: String) -> Int? {
        let prefix = options.numericIDs ? "" : "uf_inv_"
        guard id.hasPrefix(prefix), let number = Int(id.dropFirst(prefix.count)), number >= 1,
            id == invoiceID(number - 1)
        else { return nil }
        return number - 1
    }

    // MARK: HTTP

    func presentedKey(_ request: HTTPRequest) -> String? {
        request.headers["x-usageflow-api-key"]
    }

    func errorResponse(status: Int, message: String) -> HTTPResponse {
        .message(status, field: "error", message)
    }

    func endpoint(for request: HTTPRequest) -> Endpoint? {
        let segments = request.pathSegments
        guard segments.first == "api", segments.dropFirst().first != "v1" else { return nil }
        guard segments == ["api", "invoices"] else {
            return Endpoint(template: "\(request.method) \(request.path)", resource: .unknown(methodAllowed: true))
        }
        return Endpoint(
            template: "\(request.method) /api/invoices",
            resource: request.method == "GET" ? .usageflowInvoices : .unknown(methodAllowed: false))
    }

    func respond(to request: HTTPRequest, at endpoint: Endpoint, context: ProviderContext) -> HTTPResponse {
        switch endpoint.resource {
        case .usageflowInvoices:
            break
        case .unknown(methodAllowed: false):
            return errorResponse(status: 405, message: "Method not allowed")
        default:
            return errorResponse(status: 404, message: "Not found")
        }
        let layout = layout(now: context.now, changes: context.changes)
        var json = JSONText(capacity: 256 + layout.count * 200)
        json.beginObject()
        json.key("invoices")
        json.beginArray()
        for index in (0..<layout.count).reversed() {
            let invoice = invoice(index, layout: layout, changes: context.changes)
            let mutation = index == layout.count - 1 ? context.mutation : .none
            json.beginObject()
            json.field("id", invoice.id)
            switch mutation {
            case .missingField: break
            case .wrongType: json.field("amount", "abc")
            default: json.field("amount", WireAmount(invoice.amount, scale: Self.amountScale))
            }
            json.field("status", invoice.status)
            json.field("periodStart", UTCCalendar.iso8601Milliseconds(invoice.periodStart))
            json.field("periodEnd", UTCCalendar.iso8601Milliseconds(invoice.periodEnd))
            json.field("createdAt", UTCCalendar.iso8601Milliseconds(invoice.createdAt))
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return .json(200, json)
    }

    // MARK: Control and ground truth

    func account(named requested: String?) -> String? {
        ""
    }

    func statusOverride(_ requested: String) -> String? {
        requested.isEmpty ? nil : requested
    }

    func hasInvoice(id: String, now: Int64, changes: InvoiceChanges.Snapshot) -> Bool {
        guard let index = invoiceIndex(id: id) else { return false }
        return index < layout(now: now, changes: changes).count
    }

    func truthInvoices(account: String, now: Int64, changes: InvoiceChanges.Snapshot, limit: Int)
        -> [TruthInvoice]
    {
        let layout = layout(now: now, changes: changes)
        return (0..<layout.count).reversed().prefix(limit).map { index in
            let invoice = invoice(index, layout: layout, changes: changes)
            let amount = WireAmount(invoice.amount, scale: Self.amountScale)
            return TruthInvoice(
                id: invoice.id, number: nil, status: invoice.status, currency: "USD",
                periodStart: invoice.periodStart, periodEnd: invoice.periodEnd, issued: invoice.createdAt,
                total: amount, subtotal: nil, creditsApplied: WireAmount(0, scale: 2),
                lineItems: [
                    TruthLineItem(
                        type: "usage", description: "usage", quantity: WireAmount(1, scale: 0),
                        unitPrice: amount, amount: amount)
                ])
        }
    }
}

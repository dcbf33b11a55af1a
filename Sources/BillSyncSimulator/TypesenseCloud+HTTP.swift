/// Typesense Cloud's endpoints: routing, the list and detail pages, their errors.
extension TypesenseCloudAPI {
    func presentedKey(_ request: HTTPRequest) -> String? {
        request.headers["x-typesense-cloud-management-api-key"]
    }

    func errorResponse(status: Int, message: String) -> HTTPResponse {
        .message(status, field: "message", message)
    }

    func endpoint(for request: HTTPRequest) -> Endpoint? {
        let segments = request.pathSegments
        guard segments.count >= 2, segments[0] == "api", segments[1] == "v1" else { return nil }
        let template: String
        let resource: Endpoint.Resource
        switch segments.count {
        case 3 where segments[2] == "invoices":
            template = "/api/v1/invoices"
            resource = .typesenseInvoices
        case 4 where segments[2] == "invoices":
            template = "/api/v1/invoices/{id}"
            resource = .typesenseInvoice(id: segments[3])
        default:
            return Endpoint(template: "\(request.method) \(request.path)", resource: .unknown(methodAllowed: true))
        }
        return Endpoint(
            template: "\(request.method) \(template)",
            resource: request.method == "GET" ? resource : .unknown(methodAllowed: false))
    }

    func respond(to request: HTTPRequest, at endpoint: Endpoint, context: ProviderContext) -> HTTPResponse {
        do throws(RequestRejection) {
            switch endpoint.resource {
            case .typesenseInvoices:
                return try listPage(request, context)
            case .typesenseInvoice(let id):
                let layout = layout(now: context.now, changes: context.changes)
                guard let index = Self.invoiceIndex(id: id, seed: options.seed), index < layout.count else {
                    throw RequestRejection(status: 404, message: "Not Found")
                }
                var json = JSONText(capacity: 4_096)
                write(
                    invoice(index, layout: layout, changes: context.changes), to: &json, withLineItems: true,
                    mutation: context.mutation)
                return .json(200, json)
            case .unknown(methodAllowed: false):
                throw RequestRejection(status: 405, message: "Method Not Allowed")
            default:
                throw RequestRejection(status: 404, message: "Not Found")
            }
        } catch {
            return errorResponse(status: error.status, message: error.message)
        }
    }

    private func listPage(_ request: HTTPRequest, _ context: ProviderContext) throws(RequestRejection) -> HTTPResponse {
        let page = try Self.positiveInteger(request, "page", default: 1)
        let perPage = try Self.positiveInteger(request, "per_page", default: 10)
        guard perPage <= 50 else { throw .badRequest("per_page must be at most 50") }
        let layout = layout(now: context.now, changes: context.changes)
        let (offset, overflow) = (page - 1).multipliedReportingOverflow(by: perPage)
        let positions = overflow || offset >= layout.count ? 0..<0 : offset..<min(layout.count, offset + perPage)
        var json = JSONText(capacity: 1_024 + perPage * 800)
        json.beginObject()
        json.field("page", page)
        json.field("per_page", perPage)
        json.field("total", layout.count)
        json.key("invoices")
        json.beginArray()
        for position in positions {
            let invoice = invoice(layout.count - 1 - position, layout: layout, changes: context.changes)
            write(invoice, to: &json, withLineItems: false, mutation: position == offset ? context.mutation : .none)
        }
        json.endArray()
        json.endObject()
        return .json(200, json)
    }

    private static func positiveInteger(_ request: HTTPRequest, _ name: String, default value: Int)
        throws(RequestRejection) -> Int
    {
        guard let text = request.parameters[name] else { return value }
        guard let number = Int(text), number >= 1 else { throw .badRequest("\(name) must be a positive integer") }
        return number
    }

    private func write(_ invoice: Invoice, to json: inout JSONText, withLineItems: Bool, mutation: BodyMutation) {
        json.beginObject()
        if mutation != .missingField {
            json.field("id", invoice.id)
        }
        json.field("number", invoice.number)
        json.field("status", invoice.status)
        if mutation == .wrongType {
            json.field("amount_cents", "abc")
        } else {
            json.field("amount_cents", invoice.amountCents)
        }
        json.field("invoice_date", invoice.invoiceDate)
        json.field("period_starts_at", invoice.periodStart)
        json.field("period_ends_at", invoice.periodEnd)
        json.field("line_items_path", "/api/v1/invoices/\(invoice.id)")
        json.field("invoice_html_url", "https://cloud.typesense.org/invoices/\(invoice.id)")
        json.key("account")
        json.beginObject()
        json.field("owner_name", "Acme Corp")
        json.field("owner_type", "Team")
        json.field("billing_email", "billing@acme.example")
        json.field("additional_billing_information", "123 Main St\nSan Francisco, CA 94102")
        json.endObject()
        json.key("payment")
        json.beginObject()
        json.field("paid_via_card_cents", invoice.paidViaCardCents)
        json.field("paid_via_credits_cents", invoice.paidViaCreditsCents)
        json.field("credit_balance_snapshot_cents", invoice.creditBalanceCents)
        json.endObject()
        if withLineItems {
            json.key("line_items")
            json.beginArray()
            for item in invoice.lineItems {
                write(item, to: &json)
            }
            json.endArray()
        }
        json.endObject()
    }

    private func write(_ item: LineItem, to json: inout JSONText) {
        json.beginObject()
        json.field("description", item.description)
        json.field("unit_price_cents", item.unitPriceCents)
        json.field("quantity", item.quantity)
        json.field("price_cents", item.priceCents)
        json.field("line_item_type", item.type)
        json.key("parameters")
        json.beginObject()
        switch item.parameters {
        case .cluster(let cluster):
            for parameter in cluster.parameters {
                json.key(named: parameter.name)
                json.string(parameter.value)
            }
        case .support(let plan, let startsAt, let endsAt):
            json.field("plan_name", plan)
            json.field("starts_at", startsAt)
            json.field("ends_at", endsAt)
        case .none:
            break
        }
        json.endObject()
        json.endObject()
    }
}

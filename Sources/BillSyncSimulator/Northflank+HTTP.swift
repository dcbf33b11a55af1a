import Foundation

/// Northflank's endpoints: routing, the invoice and usage pages, their cursors and errors.
extension NorthflankAPI {
    func presentedKey(_ request: HTTPRequest) -> String? {
        guard let authorization = request.headers["authorization"],
            authorization.lowercased().hasPrefix("bearer ")
        else { return nil }
        return HTTPRequest.trimmingWhitespace(authorization.dropFirst(7))
    }

    func errorResponse(status: Int, message: String) -> HTTPResponse {
        var json = JSONText()
        json.beginObject()
        json.key("error")
        json.beginObject()
        json.field("status", status)
        json.field("message", message)
        json.endObject()
        json.endObject()
        return .json(status, json)
    }

    func endpoint(for request: HTTPRequest) -> Endpoint? {
        let segments = request.pathSegments
        guard segments.first == "v1" else { return nil }
        let isGet = request.method == "GET"
        let resource: Endpoint.Resource
        let template: String
        switch segments.count {
        case 3 where segments[1] == "billing" && ["invoices", "usage"].contains(segments[2]):
            template = "/v1/billing/\(segments[2])"
            resource =
                segments[2] == "invoices" ? .northflankInvoices(account: "org") : .northflankUsage(account: "org")
        case 5 where segments[1] == "teams" && segments[3] == "billing" && ["invoices", "usage"].contains(segments[4]):
            template = "/v1/teams/{team}/billing/\(segments[4])"
            resource =
                segments[4] == "invoices"
                ? .northflankInvoices(account: segments[2]) : .northflankUsage(account: segments[2])
        default:
            return Endpoint(template: "\(request.method) \(request.path)", resource: .unknown(methodAllowed: true))
        }
        return Endpoint(
            template: "\(request.method) \(template)",
            resource: isGet ? resource : .unknown(methodAllowed: false))
    }

    func respond(to request: HTTPRequest, at endpoint: Endpoint, context: ProviderContext) -> HTTPResponse {
        do throws(RequestRejection) {
            switch endpoint.resource {
            case .northflankInvoices(let name):
                guard let account = account(name) else {
                    throw RequestRejection(status: 404, message: "Team not found")
                }
                return try invoicePage(account, request, context)
            case .northflankUsage(let name):
                guard let account = account(name) else {
                    throw RequestRejection(status: 404, message: "Team not found")
                }
                return try usagePage(account, request, context)
            case .unknown(methodAllowed: false):
                throw RequestRejection(status: 405, message: "Method not allowed")
            default:
                throw RequestRejection(status: 404, message: "Not found")
            }
        } catch {
            return errorResponse(status: error.status, message: error.message)
        }
    }

    private func invoicePage(_ account: Account, _ request: HTTPRequest, _ context: ProviderContext)
        throws(RequestRejection) -> HTTPResponse
    {
        let perPage = try Self.pageSize(request)
        let months = invoiceMonths(account, now: context.now, changes: context.changes)
        let requestCursor = request.parameters["cursor"]
        var first = months.newest
        if let requestCursor {
            guard let month = Self.decodeCursor(requestCursor, kind: "i") else { throw .badRequest("Invalid cursor") }
            first = min(first, month)
        }
        let last = max(months.oldest, first - Int64(perPage) + 1)
        var json = JSONText(capacity: 1_024 + perPage * 600)
        json.beginObject()
        json.key("data")
        json.beginObject()
        json.key("invoices")
        json.beginArray()
        var month = first
        while month >= last {
            let invoice = invoice(account, month: month, months: months, changes: context.changes)
            write(invoice, to: &json, wrongType: month == first && context.mutation == .wrongType)
            month -= 1
        }
        json.endArray()
        json.endObject()
        writePagination(
            to: &json, count: Int(max(0, first - last + 1)),
            next: month >= months.oldest ? Self.encodeCursor(kind: "i", month) : nil,
            requestCursor: requestCursor, start: Self.encodeCursor(kind: "i", months.newest),
            context: context)
        json.endObject()
        return .json(200, json)
    }

    private func usagePage(_ account: Account, _ request: HTTPRequest, _ context: ProviderContext)
        throws(RequestRejection) -> HTTPResponse
    {
        let perPage = try Self.pageSize(request)
        guard let startText = request.parameters["startTime"] else { throw .badRequest("startTime is required") }
        guard let startTime = Int64(startText) else { throw .badRequest("startTime must be a unix timestamp") }
        var endTime = context.now
        if let endText = request.parameters["endTime"] {
            guard let value = Int64(endText) else { throw .badRequest("endTime must be a unix timestamp") }
            endTime = value
        }
        guard endTime >= startTime else { throw .badRequest("endTime must not be before startTime") }
        let available = usageHours(now: context.now)
        let from = max(available.lowerBound, UTCCalendar.ceil(startTime, to: UTCCalendar.secondsPerHour))
        let end = min(available.upperBound, endTime)
        let requestCursor = request.parameters["cursor"]
        var hour = from
        if let requestCursor {
            guard let cursorHour = Self.decodeCursor(requestCursor, kind: "u") else {
                throw .badRequest("Invalid cursor")
            }
            hour = max(from, UTCCalendar.ceil(cursorHour, to: UTCCalendar.secondsPerHour))
        }
        hour = servedHour(account, atOrAfter: hour)
        let first = hour
        var json = JSONText(capacity: 1_024 + perPage * 400)
        json.beginObject()
        json.key("data")
        json.beginObject()
        json.key("usage")
        json.beginArray()
        var count = 0
        while hour < end, count < perPage {
            write(usage(account, hour: hour), to: &json, wrongType: count == 0 && context.mutation == .wrongType)
            hour = servedHour(account, atOrAfter: hour + UTCCalendar.secondsPerHour)
            count += 1
        }
        json.endArray()
        json.endObject()
        writePagination(
            to: &json, count: count, next: hour < end ? Self.encodeCursor(kind: "u", hour) : nil,
            requestCursor: requestCursor, start: Self.encodeCursor(kind: "u", first), context: context)
        json.endObject()
        return .json(200, json)
    }

    /// `pagination`, unless a fault drops it; a `repeat-cursor` fault answers with the
    /// request's cursor, or on a first page with `next` (or `start`) and keeps that promise
    /// when it comes back.
    private func writePagination(
        to json: inout JSONText, count: Int, next: String?, requestCursor: String?,
        start: String, context: ProviderContext
    ) {
        var next = next
        if let requestCursor, context.faults.takeRepeatingCursor(requestCursor) {
            next = requestCursor
        }
        if context.mutation == .repeatCursor {
            if let requestCursor {
                next = requestCursor
            } else {
                let promised = next ?? start
                context.faults.repeatCursor(promised)
                next = promised
            }
        }
        guard context.mutation != .missingField else { return }
        json.key("pagination")
        json.beginObject()
        json.field("hasNextPage", next != nil)
        if let next {
            json.field("cursor", next)
        }
        json.field("count", count)
        json.endObject()
    }

    private func write(_ invoice: Invoice, to json: inout JSONText, wrongType: Bool) {
        let scale = invoice.scale
        json.beginObject()
        json.field("id", invoice.id)
        json.key("period")
        json.beginObject()
        json.field("start", invoice.periodStart)
        json.field("end", invoice.periodEnd)
        json.endObject()
        json.field("currency", "usd")
        write(invoice.paas, invoice.byoc, scale: scale, to: &json, wrongType: false)
        if wrongType {
            json.field("total", "abc")
        } else {
            json.field("total", money(invoice.total, scale: scale))
        }
        json.field("subTotal", money(invoice.subTotal, scale: scale))
        json.field("paid", invoice.paid)
        json.endObject()
    }

    private func write(_ usage: UsageHour, to json: inout JSONText, wrongType: Bool) {
        json.beginObject()
        json.field("timestamp", usage.timestamp)
        write(usage.paas, usage.byoc, scale: usageScale, to: &json, wrongType: wrongType)
        json.endObject()
    }

    private func write(_ paas: PaaSPrice, _ byoc: BYOCPrice, scale: Int, to json: inout JSONText, wrongType: Bool) {
        let javaScript = options.javaScriptNumbers
        func amount(_ name: StaticString, _ units: Int64) {
            if javaScript {
                json.javaScriptNumber(name, money(units, scale: scale))
            } else {
                json.field(name, money(units, scale: scale))
            }
        }
        json.key("paasUsage")
        json.beginObject()
        json.key("price")
        json.beginObject()
        if wrongType {
            json.field("total", "abc")
        } else {
            amount("total", paas.total)
        }
        amount("cpu", paas.cpu)
        amount("memory", paas.memory)
        amount("storage", paas.storage)
        amount("gpu", paas.gpu)
        json.endObject()
        json.endObject()
        json.key("byocUsage")
        json.beginObject()
        json.key("price")
        json.beginObject()
        amount("total", byoc.total)
        amount("vcpu", byoc.vcpu)
        amount("memory", byoc.memory)
        amount("gpuMemory", byoc.gpuMemory)
        amount("cluster", byoc.cluster)
        json.endObject()
        json.endObject()
    }

    private static func pageSize(_ request: HTTPRequest) throws(RequestRejection) -> Int {
        guard let text = request.parameters["per_page"] else { return 50 }
        guard let size = Int(text) else { throw .badRequest("per_page must be an integer") }
        guard size <= 100 else { throw .badRequest("per_page must be at most 100") }
        guard size >= 1 else { throw .badRequest("per_page must be at least 1") }
        return size
    }

    /// Opaque, URL-safe cursors: base64url of `i:<month>` (invoices) or `u:<hour>` (usage),
    /// pointing at the first record of the next page.
    private static func encodeCursor(kind: Character, _ position: Int64) -> String {
        let base64 = Data("\(kind):\(position)".utf8).base64EncodedString().utf8
        return String(
            decoding: base64.compactMap { byte -> UInt8? in
                switch byte {
                case UInt8(ascii: "+"): UInt8(ascii: "-")
                case UInt8(ascii: "/"): UInt8(ascii: "_")
                case UInt8(ascii: "="): nil
                default: byte
                }
            }, as: UTF8.self)
    }

    private static func decodeCursor(_ cursor: String, kind: Character) -> Int64? {
        var base64 = cursor.utf8.map { byte -> UInt8 in
            switch byte {
            case UInt8(ascii: "-"): UInt8(ascii: "+")
            case UInt8(ascii: "_"): UInt8(ascii: "/")
            default: byte
            }
        }
        base64 += repeatElement(UInt8(ascii: "="), count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: Data(base64)), let text = String(data: data, encoding: .utf8),
            text.hasPrefix("\(kind):")
        else { return nil }
        return Int64(text.dropFirst(2))
    }
}

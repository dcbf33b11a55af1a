/// The simulator's own endpoints under `/_sim/`: change invoices, queue faults, read the
/// request counts and the ground truth. No authentication; never counted as requests.
struct ControlAPI: Sendable {
    let gateway: ProviderGateway
    let alerts = AlertInbox()

    func respond(to request: HTTPRequest) -> HTTPResponse {
        let segments = Array(request.pathSegments.dropFirst())
        do throws(RequestRejection) {
            switch (request.method, segments.first ?? "") {
            case (_, "invoices"): return try changeInvoices(request, Array(segments.dropFirst()))
            case ("POST", "faults") where segments.count == 1: return try queueFault(request)
            case ("DELETE", "faults") where segments.count == 1: return clearFaults()
            case ("GET", "faults") where segments.count == 1: return pendingFaults()
            case (_, "requests"): return try requests(request, Array(segments.dropFirst()))
            case ("GET", "truth") where segments == ["truth", "invoices"]: return try truthInvoices(request)
            case ("GET", "truth") where segments == ["truth", "usage"]: return try truthUsage(request)
            case (_, "alerts"): return try alerts.respond(to: request, Array(segments.dropFirst()))
            case ("GET", "health") where segments.count == 1: return .json(200, .object { $0.field("ok", true) })
            default:
                throw RequestRejection(status: 404, message: "no simulator endpoint \(request.method) \(request.path)")
            }
        } catch {
            return .simulatorError(error.status, error.message)
        }
    }

    // MARK: Invoices

    /// `POST /_sim/invoices/{provider}/new?account=A&count=N` and
    /// `POST /_sim/invoices/{provider}/{id}/status?value=V`.
    private func changeInvoices(_ request: HTTPRequest, _ path: [String]) throws(RequestRejection) -> HTTPResponse {
        guard request.method == "POST", path.count == 2 || path.count == 3 else {
            throw RequestRejection(status: 404, message: "use POST /_sim/invoices/{provider}/new or .../{id}/status")
        }
        let provider = try provider(named: path[0])
        let now = gateway.now()
        if path.count == 2, path[1] == "new" {
            let count = try integer(request, "count", default: 1, in: 1...100_000)
            guard let account = provider.account(named: request.parameters["account"]) else {
                throw RequestRejection(status: 404, message: "unknown account \(request.parameters["account"] ?? "")")
            }
            gateway.changes.addInvoices(provider.kind, account: account, count: count)
            let added = provider.truthInvoices(
                account: account, now: now, changes: gateway.changes.snapshot(),
                limit: count)
            return .json(
                200,
                .object { json in
                    json.field("provider", provider.kind.rawValue)
                    if !account.isEmpty {
                        json.field("account", account)
                    }
                    json.key("ids")
                    json.beginArray()
                    for invoice in added {
                        json.string(invoice.id)
                    }
                    json.endArray()
                })
        }
        guard path.count == 3, path[2] == "status" else {
            throw RequestRejection(status: 404, message: "use POST /_sim/invoices/{provider}/{id}/status?value=V")
        }
        let id = path[1]
        guard let requested = request.parameters["value"], let value = provider.statusOverride(requested) else {
            throw .badRequest(provider.kind == .northflank ? "value must be paid or unpaid" : "value is required")
        }
        guard provider.hasInvoice(id: id, now: now, changes: gateway.changes.snapshot()) else {
            throw RequestRejection(status: 404, message: "no \(provider.kind.rawValue) invoice \(id)")
        }
        gateway.changes.setStatus(provider.kind, id: id, to: value)
        return .json(
            200,
            .object { json in
                json.field("provider", provider.kind.rawValue)
                json.field("id", id)
                json.field("status", value)
            })
    }

    // MARK: Faults

    /// `POST /_sim/faults?path=PREFIX&kind=K&count=N&after=M&code=C&value=V&allow=A&field=F&message=TEXT`
    private func queueFault(_ request: HTTPRequest) throws(RequestRejection) -> HTTPResponse {
        guard let kindName = request.parameters["kind"], let kind = Fault.Kind(rawValue: kindName) else {
            throw .badRequest("kind must be one of " + Fault.Kind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let fault = Fault(
            pathPrefix: request.parameters["path"] ?? "/",
            kind: kind,
            remaining: try integer(request, "count", default: 1, in: 1...Int.max),
            skip: try integer(request, "after", default: 0, in: 0...Int.max),
            code: try integer(request, "code", default: 500, in: 100...599),
            value: try integer(request, "value", default: kind.defaultValue, in: 0...Int(Int32.max)),
            allow: try integer(request, "allow", default: 0, in: 0...Int(Int32.max)),
            field: request.parameters["field"],
            message: request.parameters["message"])
        gateway.faults.enqueue(fault)
        return .json(
            200,
            .object { json in
                json.key("queued")
                write(fault, to: &json)
            })
    }

    private func clearFaults() -> HTTPResponse {
        let cleared = gateway.faults.clear()
        return .json(200, .object { $0.field("cleared", cleared) })
    }

    private func pendingFaults() -> HTTPResponse {
        var json = JSONText()
        json.beginArray()
        for fault in gateway.faults.pending() {
            write(fault, to: &json)
        }
        json.endArray()
        return .json(200, json)
    }

    private func write(_ fault: Fault, to json: inout JSONText) {
        json.beginObject()
        json.field("path", fault.pathPrefix)
        json.field("kind", fault.kind.rawValue)
        json.field("count", fault.remaining)
        json.field("after", fault.skip)
        json.field("code", fault.code)
        json.field("value", fault.value)
        json.field("allow", fault.allow)
        if let field = fault.field {
            json.field("field", field)
        }
        if let message = fault.message {
            json.field("message", message)
        }
        json.endObject()
    }

    // MARK: Requests

    /// `GET /_sim/requests`, `GET /_sim/requests/log[?times=1]`, `POST /_sim/requests/reset`.
    private func requests(_ request: HTTPRequest, _ path: [String]) throws(RequestRejection) -> HTTPResponse {
        switch (request.method, path) {
        case ("GET", []):
            return .json(200, gateway.requestLog.summary())
        case ("GET", ["log"]):
            let times = request.parameters["times"].map { $0 == "1" || $0 == "true" } ?? false
            return HTTPResponse(
                status: 200, body: gateway.requestLog.text(times: times), contentType: "text/plain; charset=utf-8")
        case ("POST", ["reset"]):
            gateway.requestLog.reset()
            return .json(200, .object { $0.field("reset", true) })
        default:
            throw RequestRejection(
                status: 404, message: "use GET /_sim/requests, GET /_sim/requests/log or POST /_sim/requests/reset")
        }
    }

    // MARK: Ground truth

    /// `GET /_sim/truth/invoices?provider=P[&account=A]`
    private func truthInvoices(_ request: HTTPRequest) throws(RequestRejection) -> HTTPResponse {
        let provider = try provider(named: request.parameters["provider"] ?? "")
        guard let account = provider.account(named: request.parameters["account"]) else {
            throw RequestRejection(status: 404, message: "unknown account \(request.parameters["account"] ?? "")")
        }
        let invoices = provider.truthInvoices(
            account: account, now: gateway.now(),
            changes: gateway.changes.snapshot(), limit: .max)
        return .json(200, GroundTruth.invoices(invoices))
    }

    /// `GET /_sim/truth/usage?account=A&start=S&end=E` (Northflank hours in `[S, E)`).
    private func truthUsage(_ request: HTTPRequest) throws(RequestRejection) -> HTTPResponse {
        let northflank = gateway.northflank
        let name = request.parameters["account"] ?? "org"
        guard let account = northflank.account(name) else {
            throw RequestRejection(status: 404, message: "unknown account \(name)")
        }
        let available = northflank.usageHours(now: gateway.now())
        let start = try timestamp(request, "start") ?? available.lowerBound
        let end = try timestamp(request, "end") ?? available.upperBound
        let first = max(available.lowerBound, UTCCalendar.ceil(start, to: UTCCalendar.secondsPerHour))
        let last = min(available.upperBound, end)
        return .json(200, GroundTruth.usage(northflank, account: account, hours: first..<max(first, last)))
    }

    // MARK: Parameters

    private func provider(named name: String) throws(RequestRejection) -> any ProviderAPI {
        guard let kind = SimulatedProvider(name: name) else {
            throw RequestRejection(
                status: 404, message: "unknown provider '\(name)': use northflank, typesense or usageflow")
        }
        return gateway.provider(kind)
    }

    private func integer(_ request: HTTPRequest, _ name: String, default value: Int, in range: ClosedRange<Int>)
        throws(RequestRejection) -> Int
    {
        guard let text = request.parameters[name] else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw .badRequest("\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    private func timestamp(_ request: HTTPRequest, _ name: String) throws(RequestRejection) -> Int64? {
        guard let text = request.parameters[name] else { return nil }
        guard let instant = UTCCalendar.parseInstant(text) else {
            throw .badRequest("\(name) must be unix seconds or an ISO-8601 UTC instant")
        }
        return instant
    }
}

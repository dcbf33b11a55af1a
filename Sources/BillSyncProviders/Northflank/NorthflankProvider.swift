import BillSyncCore

/// Northflank: `/v1/billing/...` or `/v1/teams/{team}/billing/...`, cursor pagination,
/// amounts in cents (possibly fractional) or, for newer accounts, decimal currency units.
public final class NorthflankProvider: BillingProvider {
    public let client: ProviderClient
    let prefix: String
    let team: String?
    let centsShift: Int
    let currency: String
    static let perPage = 100

    public init(client: ProviderClient, team: String?, amountsInCents: Bool, currency: String) {
        self.client = client
        prefix = team.map { "/v1/teams/\(ProviderClient.percentEncode($0))/billing" } ?? "/v1/billing"
        self.team = team
        centsShift = amountsInCents ? -2 : 0
        self.currency = currency
    }

    public var invoiceEndpoint: String { prefix + "/invoices" }
    public var hasUsage: Bool { true }
    public var usageEndpoint: String { prefix + "/usage" }
    /// The usage list pages any time range by cursor, so a backfill is one window: full pages
    /// of 100 hours, however many hours are missing on the way.
    public var usageWindowHours: Int64? { nil }

    public func invoicePage(cursor: String?) throws(ProviderError) -> InvoicePage {
        let endpoint = invoiceEndpoint
        var query = [("per_page", String(Self.perPage))]
        if let cursor { query.append(("cursor", cursor)) }
        return try decodeInvoicePage(try client.getJSON(endpoint, query: query), cursor: cursor)
    }

    public func decodeInvoicePage(_ json: JSONValue, cursor: String?) throws(ProviderError) -> InvoicePage {
        let endpoint = invoiceEndpoint
        let page = try decoding(endpoint) { () throws(FieldError) -> InvoicePage in
            let root = JSONField(json)
            let items = try root.require("data").require("invoices").array()
            var invoices: [Invoice] = []
            invoices.reserveCapacity(items.count)
            for item in items { invoices.append(try invoice(item)) }
            return InvoicePage(invoices: invoices, next: try Self.nextCursor(root))
        }
        if let next = page.next, next == cursor { throw .repeatingCursor(endpoint: endpoint, cursor: next) }
        return page
    }

    public func usagePage(start: Int64, end: Int64, cursor: String?) throws(ProviderError) -> UsagePage {
        let endpoint = usageEndpoint
        var query = [("startTime", String(start)), ("endTime", String(end)), ("per_page", String(Self.perPage))]
        if let cursor { query.append(("cursor", cursor)) }
        return try decodeUsagePage(body: try client.get(endpoint, query: query), start: start, end: end, cursor: cursor)
    }

    /// A usage page from the response bytes: scanned directly when it has the documented
    /// shape, else parsed and decoded the general way (which also names what is wrong).
    public func decodeUsagePage(body: [UInt8], start: Int64, end: Int64, cursor: String?) throws(ProviderError)
        -> UsagePage
    {
        if let page = scanUsagePage(body: body, start: start, end: end) {
            if let next = page.next, next == cursor { throw .repeatingCursor(endpoint: usageEndpoint, cursor: next) }
            return page
        }
        return try decodeUsagePage(
            ProviderClient.parse(body, endpoint: usageEndpoint), start: start, end: end, cursor: cursor)
    }

    public func decodeUsagePage(_ json: JSONValue, start: Int64, end: Int64, cursor: String?) throws(ProviderError)
        -> UsagePage
    {
        let endpoint = usageEndpoint
        let page = try decoding(endpoint) { () throws(FieldError) -> UsagePage in
            let root = JSONField(json)
            let next = try Self.nextCursor(root)
            // An empty window may come back without `data.usage`.
            guard let data = try root.optional("data"), let usage = try data.optional("usage") else {
                return UsagePage(hours: [], next: next)
            }
            var hours: [UsageHour] = []
            let items = try usage.array()
            hours.reserveCapacity(items.count)
            for item in items {
                let hour = try self.usageHour(item)
                guard hour.hourStart >= start && hour.hourStart < end else {
                    throw FieldError(
                        path: item.path + ".timestamp",
                        problem: "hour \(hour.hourStart) outside the requested window [\(start), \(end))")
                }
                hours.append(hour)
            }
            return UsagePage(hours: hours, next: next)
        }
        if let next = page.next, next == cursor { throw .repeatingCursor(endpoint: endpoint, cursor: next) }
        return page
    }

    /// The direct reading alone: nil where the general decoder has to decide.
    public func scanUsagePage(body: [UInt8], start: Int64, end: Int64) -> UsagePage? {
        UsagePageScanner.scan(body, start: start, end: end, centsShift: centsShift, currency: currency)
    }

    static func nextCursor(_ root: JSONField) throws(FieldError) -> String? {
        let pagination = try root.require("pagination")
        guard try pagination.require("hasNextPage").bool() else { return nil }
        guard let cursor = try pagination.optional("cursor")?.text(), !cursor.isEmpty else {
            throw FieldError(path: pagination.path + ".cursor", problem: "hasNextPage is true but no cursor was given")
        }
        return cursor
    }

    func money(_ field: JSONField?, _ key: String) throws(FieldError) -> ExactDecimal {
        guard let value = try field?.optional(key) else { return .zero }
        return try value.decimal().shifted(by: centsShift)
    }

    func usageHour(_ item: JSONField) throws(FieldError) -> UsageHour {
        let ts = try item.require("timestamp").timestamp()
        guard ts % 3600 == 0 else {
            throw FieldError(path: item.path + ".timestamp", problem: "\(ts) is not the start of an hour")
        }
        let paas = try item.optional("paasUsage")?.optional("price")
        let byoc = try item.optional("byocUsage")?.optional("price")
        return UsageHour(
            hourStart: ts, currency: currency,
            paasTotal: try money(paas, "total"), cpu: try money(paas, "cpu"), memory: try money(paas, "memory"),
            storage: try money(paas, "storage"), gpu: try money(paas, "gpu"),
            byocTotal: try money(byoc, "total"), byocVCPU: try money(byoc, "vcpu"),
            byocMemory: try money(byoc, "memory"),
            byocGPUMemory: try money(byoc, "gpuMemory"), byocCluster: try money(byoc, "cluster"))
    }

    static let components: [(group: String, key: String, type: String, label: String)] = [
        ("paasUsage", "cpu", "cpu", "CPU"),
        ("paasUsage", "memory", "memory", "Memory"),
        ("paasUsage", "storage", "storage", "Storage"),
        ("paasUsage", "gpu", "gpu", "GPU"),
        ("byocUsage", "vcpu", "byoc-vcpu", "BYOC vCPU"),
        ("byocUsage", "memory", "byoc-memory", "BYOC memory"),
        ("byocUsage", "gpuMemory", "byoc-gpu-memory", "BYOC GPU memory"),
        ("byocUsage", "cluster", "byoc-cluster", "BYOC cluster"),
    ]

    /// The key of an invoice listed without `id`: its period's start (and the team, for a team
    /// source), the same on every sync. Northflank bills each account once per period.
    func provisionalID(periodStart: Int64) -> String {
        "period:" + (team.map { $0 + ":" } ?? "") + UTC.iso8601(periodStart)
    }

    /// Only `period` and `total` are needed to record the money; `id` and `paid` (documented
    /// only "if `timestamp` is passed in") fall back as the README's field table says.
    func invoice(_ item: JSONField) throws(FieldError) -> Invoice {
        let period = try item.require("period")
        let start = try period.require("start").timestamp()
        let end = Normalization.exclusiveEnd(try period.require("end").timestamp())
        let total = try item.require("total").decimal().shifted(by: centsShift)
        let subtotal = try item.optional("subTotal")?.decimal().shifted(by: centsShift)
        let provisional = provisionalID(periodStart: start)
        var fallbacks: [String] = []
        if subtotal == nil { fallbacks.append("subTotal") }
        let id = try item.optional("id")?.text() ?? provisional
        if id == provisional { fallbacks.append("id") }
        let paid = try item.optional("paid")?.bool()
        if paid == nil { fallbacks.append("paid") }
        let stated = try item.optional("currency")?.string().uppercased()
        if stated == nil { fallbacks.append("currency") }
        let currency = stated ?? self.currency
        var lines: [LineItem] = []
        for c in Self.components {
            let amount = try money(try item.optional(c.group)?.optional("price"), c.key)
            if !amount.isZero {
                lines.append(
                    LineItem(
                        lineType: c.type, category: .usage,
                        description: "\(c.label) usage \(UTC.date(start)) to \(UTC.date(end))", amount: amount))
            }
        }
        let sum = lines.reduce(ExactDecimal.zero) { $0 + $1.amount }
        if let subtotal, sum == subtotal, total != subtotal {
            // The documented difference between subTotal and total is tax.
            lines.append(LineItem(lineType: "tax", category: .tax, description: "Tax", amount: total - subtotal))
        }
        var invoice = Invoice(
            id: id, status: paid.map { $0 ? .paid : .open } ?? .unknown,
            providerStatus: paid.map { $0 ? "paid" : "unpaid" } ?? "", currency: currency,
            periodStart: start, periodEnd: end, issuedOn: UTC.startOfDay(end), subtotal: subtotal,
            total: total, lineItems: lines)
        invoice.provisionalID = provisional
        invoice.fallbacks = fallbacks
        return invoice
    }
}

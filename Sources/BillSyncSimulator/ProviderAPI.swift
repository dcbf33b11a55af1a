/// The three simulated providers, by the names the control API uses (`typesense`); not
/// billsync's `ProviderKind` (the simulator shares no code with billsync on purpose).
enum SimulatedProvider: String, Sendable, CaseIterable {
    case northflank
    case typesense
    case usageflow

    /// Accepts the control API's names and the config's `typesense-cloud`.
    init?(name: String) {
        switch name {
        case "northflank": self = .northflank
        case "typesense", "typesense-cloud": self = .typesense
        case "usageflow": self = .usageflow
        default: return nil
        }
    }
}

/// A provider endpoint a request resolved to: the key it is counted under and what it asks for.
struct Endpoint: Sendable {
    enum Resource: Sendable {
        case northflankInvoices(account: String)
        case northflankUsage(account: String)
        case typesenseInvoices
        case typesenseInvoice(id: String)
        case usageflowInvoices
        /// Inside the provider's API but not an endpoint it has (or not with this method).
        case unknown(methodAllowed: Bool)
    }

    /// `GET /v1/teams/{team}/billing/usage`; the raw `METHOD PATH` for unknown ones.
    let template: String
    let resource: Resource
}

/// How a fault asks a provider to spoil an otherwise good body.
enum BodyMutation: Sendable {
    case none
    /// Drop a required field.
    case missingField
    /// The first invoice's amount becomes the string `"abc"`.
    case wrongType
    /// Northflank: answer with a cursor that repeats.
    case repeatCursor
}

/// Everything a provider response depends on besides the options and the request.
struct ProviderContext: Sendable {
    let now: Int64
    let changes: InvoiceChanges.Snapshot
    let mutation: BodyMutation
    let faults: FaultPlan
}

/// A documented request limit: `limit` requests per sliding `periodSeconds`.
struct RateLimitPolicy: Sendable {
    let limit: Int
    let periodSeconds: Int64
    /// Northflank reports its window in `x-ratelimit-*` headers on every response.
    let advertised: Bool
}

/// One simulated provider: where its API lives, how it authenticates and fails, what it
/// serves, and what the control and ground-truth endpoints may ask of it.
protocol ProviderAPI: Sendable {
    var kind: SimulatedProvider { get }
    /// The key this provider accepts.
    var apiKey: String { get }
    var rateLimit: RateLimitPolicy? { get }
    var unauthorizedMessage: String { get }
    var rateLimitedMessage: String { get }

    /// `nil` when the path is outside this provider's API.
    func endpoint(for request: HTTPRequest) -> Endpoint?
    /// The credential the request carries, in this provider's header.
    func presentedKey(_ request: HTTPRequest) -> String?
    /// An error in this provider's body format.
    func errorResponse(status: Int, message: String) -> HTTPResponse
    func respond(to request: HTTPRequest, at endpoint: Endpoint, context: ProviderContext) -> HTTPResponse

    /// The canonical account name for the control API (`nil`: no such account).
    func account(named requested: String?) -> String?
    /// A status the control API may set, as it will be stored (`nil`: not one of this provider's).
    func statusOverride(_ requested: String) -> String?
    func hasInvoice(id: String, now: Int64, changes: InvoiceChanges.Snapshot) -> Bool
    /// The first `limit` invoices of `account` as served, in list order (newest first).
    func truthInvoices(account: String, now: Int64, changes: InvoiceChanges.Snapshot, limit: Int) -> [TruthInvoice]
}

/// A request a provider refuses (bad parameter, unknown record), in that provider's error format.
struct RequestRejection: Error {
    let status: Int
    let message: String

    static func badRequest(_ message: String) -> RequestRejection {
        RequestRejection(status: 400, message: message)
    }
}

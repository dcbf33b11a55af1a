import BillSyncHTTP

/// Why one source's sync stopped. Carries what a person needs to act — the endpoint,
/// the HTTP status, the provider's message — and never the key.
public enum ProviderError: Error, Sendable, CustomStringConvertible {
    case http(endpoint: String, status: Int, message: String)
    case malformedJSON(endpoint: String, detail: String)
    case badField(endpoint: String, detail: String)
    case repeatingCursor(endpoint: String, cursor: String)
    case transport(endpoint: String, failure: String)
    case stopped

    public var description: String {
        switch self {
        case .http(let endpoint, let status, let message):
            let hint =
                switch status {
                case 401, 403: " (check the API key)"
                case 404: " (check base_url and team)"
                default: ""
                }
            return "GET \(endpoint): HTTP \(status): \(message)\(hint)"
        case .malformedJSON(let endpoint, let detail): return "GET \(endpoint): response is not valid JSON: \(detail)"
        case .badField(let endpoint, let detail): return "GET \(endpoint): unexpected response: \(detail)"
        case .repeatingCursor(let endpoint, let cursor):
            return "GET \(endpoint): pagination cursor \"\(cursor.prefix(64))\" repeated; stopping to avoid a loop"
        case .transport(let endpoint, let failure): return "GET \(endpoint): \(failure)"
        case .stopped: return "stopped before finishing"
        }
    }

    /// A short name of the failure, for logs and counts.
    public var kind: String {
        switch self {
        case .http: "http"
        case .malformedJSON: "malformedJSON"
        case .badField: "badField"
        case .repeatingCursor: "repeatingCursor"
        case .transport: "transport"
        case .stopped: "stopped"
        }
    }

    /// The HTTP status, where there is one (for logs).
    public var status: Int? {
        if case .http(_, let status, _) = self { return status }
        return nil
    }
}

import BillSyncCore
import BillSyncHTTP

/// What a source needs to build its provider.
public struct ProviderSettings: Sendable {
    public var kind: ProviderKind
    public var baseURL: String
    public var apiKey: String
    public var team: String?
    public var amountsInCents: Bool
    public var currency: String

    public init(kind: ProviderKind, baseURL: String, apiKey: String, team: String?, amountsInCents: Bool, currency: String) {
        self.kind = kind
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.team = team
        self.amountsInCents = amountsInCents
        self.currency = currency
    }
}

/// The one place that maps a provider kind to its implementation.
public enum ProviderRegistry {
    public static func make(_ settings: ProviderSettings, http: PacedHTTP) -> BillingProvider {
        switch settings.kind {
        case .northflank:
            let client = ProviderClient(http: http, baseURL: settings.baseURL, authHeader: ("Authorization", "Bearer " + settings.apiKey), secret: settings.apiKey)
            return NorthflankProvider(client: client, team: settings.team, amountsInCents: settings.amountsInCents, currency: settings.currency)
        case .typesenseCloud:
            let client = ProviderClient(http: http, baseURL: settings.baseURL, authHeader: ("X-TYPESENSE-CLOUD-MANAGEMENT-API-KEY", settings.apiKey), secret: settings.apiKey)
            return TypesenseCloudProvider(client: client)
        case .usageflow:
            let client = ProviderClient(http: http, baseURL: settings.baseURL, authHeader: ("x-usageflow-api-key", settings.apiKey), secret: settings.apiKey)
            return UsageFlowProvider(client: client, currency: settings.currency)
        }
    }
}

import BillSyncCore
import BillSyncHTTP

extension ProviderKind {
    public static let usageflow = ProviderKind(rawValue: "usageflow")
}

extension UsageFlowProvider {
    /// Self-hosted, so no default base URL; its docs state no rate limit, so billsync keeps to 60 a minute.
    public static let descriptor = ProviderDescriptor(
        kind: .usageflow, vendor: "UsageFlow", defaultBaseURL: nil,
        documentedRateLimit: RateLimit(requests: 60, period: 60), focusName: "UsageFlow",
        focusService: { _ in FOCUSService("UsageFlow", "Other", "Other (Other)") },
        webhooks: .usageFlowHMAC,
        make: { settings, http in
            UsageFlowProvider(
                client: ProviderClient(
                    http: http, baseURL: settings.baseURL, authHeader: ("x-usageflow-api-key", settings.apiKey),
                    secret: settings.apiKey), currency: settings.currency)
        })
}

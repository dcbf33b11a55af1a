import BillSyncCore
import BillSyncHTTP

extension ProviderKind {
    public static let typesenseCloud = ProviderKind(rawValue: "typesense-cloud")
}

extension TypesenseCloudProvider {
    /// Its invoice details under 30 requests a minute are the longest chain of requests of a pass.
    public static let descriptor = ProviderDescriptor(
        kind: .typesenseCloud, vendor: "TypesenseCloud", defaultBaseURL: "https://cloud.typesense.org",
        documentedRateLimit: RateLimit(requests: 30, period: 60), longestChain: true, focusName: "Typesense Cloud",
        focusService: { lineType in
            switch lineType {
            case "node": FOCUSService("Typesense Cloud Clusters", "Analytics", "Search")
            case "bandwidth": FOCUSService("Typesense Cloud Bandwidth", "Networking", "Network Connectivity")
            case "support": FOCUSService("Typesense Cloud Support", "Management and Governance", "Support")
            // Prepaid credits, adjustments, an invoice without line items.
            default: FOCUSService("Typesense Cloud", "Other", "Other (Other)")
            }
        },
        focusPricingUnit: { unit in
            switch unit {
            case "node-hour": "Node-Hours"
            case "plan": "Plans"
            case "credit": "Credits"
            default: unit
            }
        },
        make: { settings, http in
            TypesenseCloudProvider(
                client: ProviderClient(
                    http: http, baseURL: settings.baseURL,
                    authHeader: ("X-TYPESENSE-CLOUD-MANAGEMENT-API-KEY", settings.apiKey), secret: settings.apiKey))
        })
}

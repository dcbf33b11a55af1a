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
        serviceCategory: { lineType in
            switch lineType {
            case "node": "Databases"
            case "bandwidth": "Networking"
            default: "Other"
            }
        },
        make: { settings, http in
            TypesenseCloudProvider(
                client: ProviderClient(
                    http: http, baseURL: settings.baseURL,
                    authHeader: ("X-TYPESENSE-CLOUD-MANAGEMENT-API-KEY", settings.apiKey), secret: settings.apiKey))
        })
}

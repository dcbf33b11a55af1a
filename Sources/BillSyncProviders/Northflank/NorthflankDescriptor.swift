import BillSyncCore
import BillSyncHTTP

extension ProviderKind {
    public static let northflank = ProviderKind(rawValue: "northflank")
}

extension NorthflankProvider {
    public static let descriptor = ProviderDescriptor(
        kind: .northflank, vendor: "Northflank", defaultBaseURL: "https://api.northflank.com",
        documentedRateLimit: RateLimit(requests: 1000, period: 3600), hasTeams: true, hasUsage: true,
        focusName: "Northflank",
        serviceCategory: { lineType in
            switch lineType {
            case "storage": "Storage"
            case "tax", "adjustment": "Other"
            default: "Compute"
            }
        },
        make: { settings, http in
            let client = ProviderClient(
                http: http, baseURL: settings.baseURL,
                authHeader: ("Authorization", "Bearer " + settings.apiKey), secret: settings.apiKey)
            return NorthflankProvider(
                client: client, team: settings.team, amountsInCents: settings.amountsInCents,
                currency: settings.currency)
        })
}

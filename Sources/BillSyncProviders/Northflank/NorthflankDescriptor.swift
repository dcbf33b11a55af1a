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
        focusService: { lineType in
            switch lineType {
            case "cpu", "memory", "gpu": FOCUSService("Northflank Compute", "Compute", "Containers")
            case "storage": FOCUSService("Northflank Storage", "Storage", "Block Storage")
            case let t where t.hasPrefix("byoc"): FOCUSService("Northflank BYOC", "Compute", "Containers")
            default: FOCUSService("Northflank", "Other", "Other (Other)")  // tax, adjustments
            }
        },
        webhooks: .secretHeader(defaultHeader: "X-Northflank-Webhook-Secret"),
        make: { settings, http in
            let client = ProviderClient(
                http: http, baseURL: settings.baseURL,
                authHeader: ("Authorization", "Bearer " + settings.apiKey), secret: settings.apiKey)
            return NorthflankProvider(
                client: client, team: settings.team, amountsInCents: settings.amountsInCents,
                currency: settings.currency)
        })
}

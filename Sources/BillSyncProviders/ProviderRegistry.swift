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

    public init(
        kind: ProviderKind, baseURL: String, apiKey: String, team: String?, amountsInCents: Bool, currency: String
    ) {
        self.kind = kind
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.team = team
        self.amountsInCents = amountsInCents
        self.currency = currency
    }
}

/// Every provider billsync knows, one line each: adding a provider is a folder with its
/// ``ProviderDescriptor`` and ``BillingProvider``, and a line here.
public enum ProviderRegistry {
    public static let all: [ProviderDescriptor] = [
        NorthflankProvider.descriptor,
        TypesenseCloudProvider.descriptor,
        UsageFlowProvider.descriptor,
    ]

    public static func descriptor(for kind: ProviderKind) -> ProviderDescriptor? {
        all.first { $0.kind == kind }
    }

    /// `northflank, typesense-cloud or usageflow`, for messages.
    public static var names: String {
        let names = all.map(\.kind.rawValue)
        return names.count < 2 ? names.joined() : names.dropLast().joined(separator: ", ") + " or " + names.last!
    }

    /// The provider of a source whose kind the config has validated.
    public static func make(_ settings: ProviderSettings, http: PacedHTTP) -> BillingProvider {
        guard let descriptor = descriptor(for: settings.kind) else {
            preconditionFailure("no provider \(settings.kind): the config accepts only those in ProviderRegistry.all")
        }
        return descriptor.make(settings, http)
    }
}

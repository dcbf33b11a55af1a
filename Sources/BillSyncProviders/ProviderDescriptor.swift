import BillSyncCore
import BillSyncHTTP

/// Everything billsync knows of a provider besides how its pages read: its name, defaults,
/// documented rate limit, capabilities, and how it appears in journals and FOCUS files. Config
/// validation, the engine and the exports read it from ``ProviderRegistry``; each provider's
/// folder declares its own (`NorthflankDescriptor.swift`).
public struct ProviderDescriptor: Sendable {
    public let kind: ProviderKind
    /// The vendor segment of journal accounts (`Expenses:Cloud:<vendor>:<type>`), unless a
    /// source sets `vendor`.
    public let vendor: String
    /// Nil for a self-hosted provider: the config must give `base_url`.
    public let defaultBaseURL: String?
    /// The limit its docs state (or billsync's own where they state none); `rate_limit` may
    /// override it, and its period is how long a 429 without a stated wait waits.
    public let documentedRateLimit: RateLimit
    /// Whether a source may set `team`.
    public let hasTeams: Bool
    /// Whether it has hourly usage (`usage_start`, `usage_lookback`, `money_unit` apply).
    public let hasUsage: Bool
    /// Synced first in a pass: its chain of requests is the longest under a tight limit.
    public let longestChain: Bool
    /// FOCUS `InvoiceIssuerName`, `ProviderName` and `PublisherName`.
    public let focusName: String
    /// FOCUS `ServiceName`, `ServiceCategory` and `ServiceSubcategory` of a line type.
    public let focusService: @Sendable (_ lineType: String) -> FOCUSService
    /// FOCUS `PricingUnit` of a line's unit (FOCUS's unit format: `Hours`, `GB`, `Node-Hours`).
    public let focusPricingUnit: @Sendable (_ unit: String) -> String
    /// How the provider signs the webhooks it sends, if it sends any.
    public let webhooks: WebhookScheme?
    /// The provider for one source, talking over `http`.
    public let make: @Sendable (ProviderSettings, PacedHTTP) -> BillingProvider

    public init(
        kind: ProviderKind, vendor: String, defaultBaseURL: String?, documentedRateLimit: RateLimit,
        hasTeams: Bool = false, hasUsage: Bool = false, longestChain: Bool = false, focusName: String,
        focusService: @escaping @Sendable (String) -> FOCUSService,
        focusPricingUnit: @escaping @Sendable (String) -> String = { $0 }, webhooks: WebhookScheme? = nil,
        make: @escaping @Sendable (ProviderSettings, PacedHTTP) -> BillingProvider
    ) {
        self.kind = kind
        self.vendor = vendor
        self.defaultBaseURL = defaultBaseURL
        self.documentedRateLimit = documentedRateLimit
        self.hasTeams = hasTeams
        self.hasUsage = hasUsage
        self.longestChain = longestChain
        self.focusName = focusName
        self.focusService = focusService
        self.focusPricingUnit = focusPricingUnit
        self.webhooks = webhooks
        self.make = make
    }
}

/// Where a provider's charges sit in FOCUS: each `name` has one `category`, and `subcategory`
/// is from FOCUS 1.2's list, under that category.
public struct FOCUSService: Sendable, Equatable {
    public let name: String
    public let category: String
    public let subcategory: String

    public init(_ name: String, _ category: String, _ subcategory: String) {
        self.name = name
        self.category = category
        self.subcategory = subcategory
    }
}

/// How a provider's webhooks prove that they come from it.
public enum WebhookScheme: Sendable, Equatable {
    /// UsageFlow: `X-UsageFlow-Signature`, the hex HMAC-SHA256 of the body (legacy), or
    /// `v1=<hex HMAC-SHA256 of "<X-UsageFlow-Timestamp>.<body>">`.
    case usageFlowHMAC
    /// The shared secret itself in a request header (Northflank; the header is configurable).
    case secretHeader(defaultHeader: String)
}

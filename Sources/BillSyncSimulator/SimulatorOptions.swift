/// How Northflank responses express money.
public enum MoneyUnit: String, Sendable, CaseIterable {
    /// Cents, possibly fractional, as Northflank documents.
    case cents
    /// Major currency units (cents / 100), as newer accounts may receive.
    case decimal
}

/// Everything that shapes what the simulator serves. The same options, with a fixed
/// `now`, give byte-identical responses on every run.
public struct SimulatorOptions: Sendable {
    /// Seeds every generated record and the error-rate dice.
    public var seed: UInt64 = 1
    /// Unix seconds the data is generated against; `nil` reads the real clock at each request.
    public var now: Int64? = nil
    /// Northflank teams `team-1`...`team-N`, besides the organisation account `org`.
    public var teams: Int = 2
    /// How far back Northflank usage and invoices go.
    public var historyDays: Int = 90
    /// Weekly Typesense Cloud invoices, the newest ending at the last Monday before `now`.
    public var typesenseInvoices: Int = 30
    /// Days per Typesense invoice period (7: weekly, as the real default; 1 gives long lists in few years).
    public var typesensePeriodDays: Int = 7
    /// When above 0, every Typesense invoice bills node and bandwidth for this many clusters
    /// (instead of one or two), for data sets with many line items.
    public var typesenseBilledClusters: Int = 0
    /// Monthly UsageFlow invoices, the newest covering the month before `now`.
    public var usageflowInvoices: Int = 12
    /// UsageFlow invoice ids as digits (`7`) instead of `uf_inv_7`, for servers whose ids are
    /// numbers (the `loose-types` fault then sends them as JSON numbers).
    public var numericIDs: Bool = false
    public var northflankKey = "nf-sim-key", typesenseKey = "ts-sim-key", usageflowKey = "uf-sim-key"
    public var northflankMoney: MoneyUnit = .cents
    /// Every Northflank invoice bills exactly its account's usage hours within its period (the
    /// hours of `usageHours` in it, missing ones included, spikes multiplied), per component, at
    /// usage precision (6 fractional cent digits); the current month's bills the hours so far.
    public var invoicesFromUsage: Bool = false
    /// Northflank invoice id (`nfinv_org_202609`) → a decimal number of cents (`12.5`, `-0.01`)
    /// added to its PaaS cpu, and so to its subtotal, tax and total: at most 4 fractional
    /// digits, 6 with `invoicesFromUsage`.
    public var invoiceOffsets: [String: String] = [:]
    /// Northflank amounts written the way JavaScript's `JSON.stringify` writes numbers, with
    /// usage at 8 fractional cent digits and about one PaaS storage and one BYOC cluster amount
    /// in four below 10^-6 cent, which come out with an exponent (`2.9e-7`).
    public var javaScriptNumbers: Bool = false
    /// Northflank usage hours the usage endpoint and `/_sim/truth/usage` never serve; invoices
    /// still bill them.
    public var missingHours: [NorthflankMissingHours] = []
    /// Northflank usage hours with every component multiplied, as served, in the ground truth
    /// and in invoices billed from usage.
    public var spikes: [NorthflankSpike] = []
    /// Typesense line-item descriptions cycle through text that breaks naive CSV and journals.
    public var hostileText: Bool = false
    /// Enforce the providers' documented limits (Northflank 1000/h, Typesense 30/min per key).
    public var rateLimits: Bool = false
    /// Divides the rate-limit periods: 60 makes Typesense's window 30 requests per second.
    public var rateScale: Double = 1
    /// Added to every provider response.
    public var latencyMs: Int = 0
    /// Fraction of provider requests answered 500, 502 or 503, drawn from a seeded generator.
    public var errorRate: Double = 0

    public init() {}

    /// Parses an instant as `--now` takes it: unix seconds (`1793491200`) or a UTC
    /// ISO-8601 instant (`2026-11-01T00:00:00Z`, `2026-11-01`).
    public static func parseInstant(_ text: String) -> Int64? {
        UTCCalendar.parseInstant(text)
    }
}

import BillSyncCore
import BillSyncExport
import BillSyncProviders
import Foundation

public enum LogFormat: String, Sendable { case logfmt, json }

/// `info` (default) or `debug`, which adds one `http.request` line per request.
public enum LogLevel: String, Sendable { case info, debug }

public enum MoneyUnit: String, Sendable { case cents, decimal }

/// Where a source's API key comes from. The key itself is read only when needed
/// and never kept in anything that is printed.
public enum KeyReference: Sendable, Equatable {
    case file(String)
    case env(String)
    case inline(String)
}

public struct SourceConfig: Sendable {
    public var name: String
    /// What billsync knows of the source's provider.
    public let descriptor: ProviderDescriptor
    public var provider: ProviderKind { descriptor.kind }
    public var key: KeyReference
    public var baseURL: String
    public var team: String?
    public var usageStart: Int64?
    public var usageLookback: Int64 = 48 * 3600
    public var moneyUnit: MoneyUnit = .cents
    public var currency: String = "USD"
    public var pollInterval: Double?
    /// Nil: no pacing (only allowed for loopback hosts).
    public var rateLimit: RateLimit?
    /// The period of the provider's documented limit: how long a 429 without a stated wait
    /// waits, and `max_rate_limit_wait` unless the config sets it.
    public var documentedRatePeriod: Double { descriptor.documentedRateLimit.period }
    public var vendor: String
    /// Where the secret of the provider's webhooks is (`webhook_secret_file`/`_env`); nil: no
    /// webhook route for this source.
    public var webhookSecret: KeyReference?
    /// The secret before a rotation, accepted too (`webhook_secret_previous_file`).
    public var webhookSecretPrevious: KeyReference?
    /// The header that carries a shared secret (`webhook_secret_header`), for providers that send one.
    public var webhookSecretHeader: String?
    /// Webhooks start a sync of this source at most this often (`webhook_min_interval`); those
    /// that come sooner ride along with the next one.
    public var webhookMinInterval: Double = 5
    /// The difference `billsync reconcile` accepts between usage and invoice (`reconcile_tolerance`).
    public var reconcileTolerance: ExactDecimal = .zero
    /// An hour of usage is a spike above `spikeFactor` × the median of the 168 before it
    /// (`spike_factor`), if it is at least `spikeMin` (`spike_min`).
    public var spikeFactor = ExactDecimal(3)
    public var spikeMin = ExactDecimal(significand: 100, scale: 2)

    /// A source with its provider's defaults: its vendor name and documented rate limit.
    public init(name: String, descriptor: ProviderDescriptor, key: KeyReference, baseURL: String) {
        self.name = name
        self.descriptor = descriptor
        self.key = key
        self.baseURL = baseURL
        vendor = descriptor.vendor
        rateLimit = descriptor.documentedRateLimit
    }

    public var isLoopback: Bool { URLCheck.isLoopback(baseURL) }
}

public struct Config: Sendable {
    public var path: String
    public var stateDir: String
    public var exportDir: String
    public var pollInterval: Double = 3600
    public var logFormat: LogFormat = .logfmt
    public var logLevel: LogLevel = .info
    public var logFile: String?
    /// Where the metrics go as a node_exporter textfile after each sync (`metrics_file`).
    public var metricsFile: String?
    /// `alert_webhook_url_file`: where the chat webhook's URL (a secret) is kept.
    public var alertWebhookURLFile: String?
    /// `[http] listen`: where `billsync run` serves `/livez`, `/readyz` and `/metrics`; nil: no listener.
    public var httpListen: (host: String, port: Int)?
    /// Names of export formats (`ExportFormats` in BillSyncExport), validated, in config order.
    public var exports: [String] = ExportFormats.defaults
    public var csvBOM = false
    public var accounting = AccountingConfig()
    public var requestTimeout: Double = 120
    public var connectTimeout: Double = 10
    public var retryMaxAttempts = 6
    public var retryBaseDelay: Double = 1
    public var retryMaxDelay: Double = 60
    public var maxResponseBytes = 64 << 20
    /// `max_rate_limit_wait`; nil: each source's documented period.
    public var maxRateLimitWait: Double?
    public var sources: [SourceConfig] = []
    /// `[[budgets]]`.
    public var budgets: [BudgetConfig] = []
    /// Warnings worth logging (inline keys, loose file permissions).
    public var warnings: [String] = []

    public var databasePath: String { stateDir + "/billsync.sqlite3" }

    public func source(named name: String) -> SourceConfig? { sources.first { $0.name == name } }

    /// Whether a URL's host is a loopback one (127.0.0.0/8, localhost, ::1).
    public static func isLoopbackURL(_ url: String) -> Bool { URLCheck.isLoopback(url) }

    /// `reconcile_tolerance` per source, for the sources that set one.
    public var reconcileTolerances: [String: ExactDecimal] {
        Dictionary(
            sources.filter { !$0.reconcileTolerance.isZero }.map { ($0.name, $0.reconcileTolerance) },
            uniquingKeysWith: { a, _ in a })
    }
}

/// A monthly budget (`[[budgets]]`): the month-to-date cost of some sources in one currency,
/// with thresholds (fractions of `monthly`) each reported once per month when crossed.
public struct BudgetConfig: Sendable, Equatable {
    public var name: String
    /// The sources it covers: those named in `sources`, or those of `vendor`.
    public var sources: [String]
    public var vendor: String?
    public var monthly: ExactDecimal
    public var currency: String
    public var thresholds: [ExactDecimal]
}

enum URLCheck {
    /// The host part of `scheme://host[:port]/...`.
    static func host(_ url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        var rest = url[schemeEnd.upperBound...]
        if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) { rest = rest[..<slash] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            return String(rest[rest.index(after: rest.startIndex)..<close])
        }
        if let colon = rest.firstIndex(of: ":") { rest = rest[..<colon] }
        return rest.isEmpty ? nil : String(rest)
    }

    static func isLoopback(_ url: String) -> Bool {
        guard let host = host(url)?.lowercased() else { return false }
        return host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

import BillSyncConfig
import BillSyncCore
import BillSyncEngine
import BillSyncExport
import BillSyncStore
import Foundation
import Prometheus

/// billsync's metrics in the Prometheus text format (swift-prometheus), for `/metrics` and the
/// node_exporter textfile (`metrics_file`).
///
/// Two kinds: what the process counted since it started (syncs, responses, retries, waits,
/// exports; counters and a histogram that only grow), and what the store says now (last
/// attempt and success, rows, open invoices, month-to-date usage), read afresh at every
/// emission so that a value that no longer exists (a currency with nothing open) disappears.
public final class BillSyncMetrics: @unchecked Sendable {
    public static let version = "0.2.0"
    private let lock = NSLock()
    private let counted = PrometheusCollectorRegistry()
    private var lastExport: (at: Int64, seconds: Double)?
    /// False for a one-shot command with no `metrics_file`: nothing would ever read the
    /// series, which cost a few KiB per source.
    private let counting: Bool

    public init(counting: Bool = true) {
        self.counting = counting
        counted.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "billsync", metricName: "build", unitName: "info",
                helpText: "Always 1; the version of billsync in its label."),
            labels: [("version", Self.version)]
        ).set(to: 1.0)
    }

    static func labels(_ source: SourceConfig) -> [(String, String)] {
        [("source", source.name), ("provider", source.provider.rawValue)]
    }

    /// Counts one source's sync.
    public func record(_ report: SyncReport, source: SourceConfig) {
        guard counting else { return }
        let labels = Self.labels(source)
        counted.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "billsync", metricName: "sync_duration", unitName: "seconds",
                helpText: "How long each sync of a source took."),
            labels: labels,
            buckets: [
                .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(15), .seconds(60),
                .seconds(300), .seconds(1800),
            ]
        ).recordNanoseconds(Int64(report.durationMs) * 1_000_000)
        counted.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "billsync", metricName: "syncs", unitName: "total",
                helpText: "Syncs of a source by result: ok, failed or stopped."),
            labels: labels + [
                ("result", report.succeeded ? "ok" : report.error?.hasPrefix("stopped") == true ? "stopped" : "failed")
            ]
        ).increment()
        for (status, count) in report.responses {
            counted.makeCounter(
                descriptor: MetricNameDescriptor(
                    namespace: "billsync", metricName: "http_responses", unitName: "total",
                    helpText: "Responses from a provider by status class (error: none arrived)."),
                labels: labels + [("status_class", status)]
            ).increment(by: Int64(count))
        }
        counted.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "billsync", metricName: "http_retries", unitName: "total",
                helpText: "Requests sent again after a failure (429s not counted)."),
            labels: labels
        ).increment(by: Int64(report.retries))
        counted.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "billsync", metricName: "ratelimit_wait", unitName: "seconds_total",
                helpText: "Time spent waiting for a provider's rate limit."),
            labels: labels
        ).increment(by: report.rateLimitWaitSeconds)
    }

    /// Counts a webhook by what became of it (`accepted`, `duplicate`, `rejected`, …).
    public func recordWebhook(source: String, outcome: String) {
        counted.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "billsync", metricName: "webhooks", unitName: "total",
                helpText: "Webhooks received, by source and outcome."),
            labels: [("source", source), ("outcome", outcome)]
        ).increment()
    }

    /// Counts an export pass that finished.
    public func recordExport(at unix: Int64, seconds: Double) {
        lock.withLock { lastExport = (unix, seconds) }
    }

    /// Everything, in the Prometheus text format: the counted metrics, then the store's state.
    public func text(config: Config, store: BillingStore, now: Int64) throws -> String {
        let state = PrometheusCollectorRegistry()
        func gauge(_ name: String, _ unit: String, _ help: String, _ labels: [(String, String)], _ value: Double) {
            state.makeGauge(
                descriptor: MetricNameDescriptor(
                    namespace: "billsync", metricName: name, unitName: unit, helpText: help),
                labels: labels
            ).set(to: value)
        }
        let open = try store.openInvoiceTotals()
        // The month's usage cost per source and currency, in one pass over the month's hours.
        let month = UTC.monthContaining(now)
        var usageCost: [String: [String: ExactDecimal]] = [:]
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
        defer { buffer.deallocate() }
        try store.forEachRawUsageRow(from: month.start, to: month.end) { r in
            let text = String(decoding: r.amount(.total, buffer), as: UTF8.self)
            usageCost[r.string(.source), default: [:]][r.string(.currency), default: .zero] +=
                (try? ExactDecimal(parsing: text)) ?? .zero
        }
        for source in config.sources {
            let labels = Self.labels(source)
            let s = try store.state(source: source.name, provider: source.provider.rawValue)
            if let at = s.lastAttemptAt {
                gauge(
                    "source_last_attempt", "timestamp_seconds", "When the last sync of a source started.", labels,
                    Double(at))
            }
            if let at = s.lastSuccessAt {
                gauge(
                    "source_last_success", "timestamp_seconds", "When the last successful sync of a source ended.",
                    labels, Double(at))
            }
            if s.lastAttemptAt != nil {
                gauge(
                    "source_last_sync", "success", "1 when the last sync of a source succeeded, else 0.", labels,
                    s.lastError == nil ? 1 : 0)
            }
            let counts = try store.counts(source: source.name)
            for (kind, rows) in [
                ("invoices", counts.invoices), ("line_items", counts.lineItems), ("usage_hours", counts.usageHours),
            ] {
                gauge(
                    "stored", "rows", "Rows billsync holds for a source, by kind.", labels + [("kind", kind)],
                    Double(rows))
            }
            var owed: [String: (count: Int, amount: ExactDecimal)] = [:]
            for invoice in open where invoice.source == source.name {
                let amount = (try? ExactDecimal(parsing: invoice.total)) ?? .zero
                owed[invoice.currency, default: (0, .zero)].count += 1
                owed[invoice.currency, default: (0, .zero)].amount += amount
            }
            // Prometheus sample values are float64 by the text format: the amounts go out as the
            // nearest doubles, for dashboards; the exports keep the exact decimals.
            for (currency, o) in owed.sorted(by: { $0.key < $1.key }) {
                gauge(
                    "open_invoices", "", "Invoices not paid, by currency.", labels + [("currency", currency)],
                    Double(o.count))
                gauge(
                    "open_invoices_amount", "", "The total of the invoices not paid, in the currency's major units.",
                    labels + [("currency", currency)], Double(o.amount.description) ?? 0)
            }
            if source.descriptor.hasUsage {
                for (currency, amount) in (usageCost[source.name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                    gauge(
                        "usage_month_to_date_cost", "", "Hourly usage cost of the current UTC month so far.",
                        labels + [("currency", currency)], Double(amount.description) ?? 0)
                }
            }
        }
        // As above: the text format's samples are float64, so budgets go out as the nearest
        // doubles; `status` and the log keep the exact decimals.
        for budget in config.budgets {
            let standing = try BudgetStanding.of(budget, config: config, store: store, now: now)
            let labels = [("budget", budget.name), ("currency", budget.currency)]
            gauge("budget_amount", "", "A budget's monthly amount.", labels, Double(budget.monthly.description) ?? 0)
            gauge(
                "budget_month_to_date", "", "A budget's cost in the current UTC month so far (invoiced and accrued).",
                labels, Double(standing.monthToDate.description) ?? 0)
            gauge(
                "budget_forecast", "", "A budget's month-to-date rate carried over the whole month.", labels,
                Double(standing.forecast.description) ?? 0)
        }
        if let export = lock.withLock({ lastExport }) {
            gauge(
                "export_last_success", "timestamp_seconds", "When the last export pass finished.", [], Double(export.at)
            )
            gauge("export_duration", "seconds", "How long the last export pass took.", [], export.seconds)
        }
        return counted.emitToString() + state.emitToString()
    }

    /// The metrics as a node_exporter textfile: written beside `path` and renamed over it.
    public func writeTextfile(_ path: String, config: Config, store: BillingStore, now: Int64) throws {
        let file = try StreamedFile(path: path)
        do {
            try file.write(Array(try text(config: config, store: store, now: now).utf8))
            _ = try file.finish()
        } catch {
            file.abandon()
            throw error
        }
    }
}

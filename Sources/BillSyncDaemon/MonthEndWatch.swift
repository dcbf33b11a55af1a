import BillSyncConfig
import BillSyncCore
import BillSyncEngine
import BillSyncStore
import Foundation
import Logging

/// After each sync: the budgets' thresholds crossed and the usage spikes, each reported once
/// (the store remembers them across restarts).
public struct MonthEndWatch {
    public let config: Config
    public let store: BillingStore
    public let logger: Logger
    /// Where `budget.threshold` and `usage.spike` also go, when `alert_webhook_url_file` is set.
    public let alerts: AlertSender?

    public init(config: Config, store: BillingStore, logger: Logger, alerts: AlertSender? = nil) {
        self.config = config
        self.store = store
        self.logger = logger
        self.alerts = alerts
    }

    /// Spikes of `sources`, then every budget that covers one of them.
    public func afterSync(_ sources: [SourceConfig], now: Int64) {
        do {
            for source in sources where source.descriptor.hasUsage { try spikes(source, now: now) }
            let names = Set(sources.map(\.name))
            for budget in config.budgets where budget.sources.contains(where: names.contains) {
                try thresholds(budget, now: now)
            }
        } catch {
            logger.error("store.failed", metadata: ["error": .string("\(error)")])
        }
    }

    func thresholds(_ budget: BudgetConfig, now: Int64) throws {
        let standing = try BudgetStanding.of(budget, config: config, store: store, now: now)
        for threshold in budget.thresholds where !(standing.monthToDate < budget.monthly.multiplied(by: threshold)) {
            guard
                try store.recordThreshold(
                    budget: budget.name, month: UTC.monthContaining(now).start, threshold: threshold,
                    monthToDate: standing.monthToDate, at: now)
            else { continue }
            let fields = [
                ("budget", budget.name), ("threshold", threshold.description), ("month", standing.month),
                ("month_to_date", standing.monthToDate.description), ("forecast", standing.forecast.description),
                ("monthly", budget.monthly.description), ("currency", budget.currency),
            ]
            logger.warning("budget.threshold", metadata: Logger.Metadata(fields.map { ($0, .string($1)) }) { $1 })
            alerts?.send(
                "budget.threshold",
                text:
                    "billsync: budget \(budget.name) passed \(threshold.percent(of: ExactDecimal(1)).formatted(minimumDecimals: 1)) % in \(standing.month): "
                    + "\(standing.monthToDate) of \(budget.monthly) \(budget.currency) so far, forecast \(standing.forecast)",
                fields: fields)
        }
    }

    /// Hours of the last week whose total passes `spike_factor` × the median of the 168 hours
    /// before (at least 24 of them stored) and `spike_min`. Older hours a backfill brings are
    /// history, not news: they are not reported.
    func spikes(_ source: SourceConfig, now: Int64) throws {
        let week: Int64 = 168 * 3_600
        let hours = try store.hourTotals(source: source.name, from: now - 2 * week, to: now)
        // The week before each hour, hours[start..<end], sorted as the window slides.
        var window = SortedWindow()
        var (start, end) = (0, 0)
        for (i, hour) in hours.enumerated() where hour.hour >= now - week {
            while end < i {
                window.add(hours[end].total)
                end += 1
            }
            while hours[start].hour < hour.hour - week {
                window.removeOldest(hours[start].total)
                start += 1
            }
            let before = window.amounts
            guard before.count >= 24, !(hour.total < source.spikeMin) else { continue }
            let mid = before.count / 2
            let median =
                before.count % 2 == 1
                ? before[mid] : (before[mid - 1] + before[mid]).scaled(by: 1, over: 2, decimals: 10)
            guard median.multiplied(by: source.spikeFactor) < hour.total,
                try store.recordSpike(
                    source: source.name, hour: hour.hour, total: hour.total, baseline: median, at: now)
            else { continue }
            let fields = [
                ("source", source.name), ("hour", UTC.iso8601(hour.hour)), ("amount", hour.total.description),
                ("baseline", median.description), ("factor", source.spikeFactor.description),
            ]
            logger.warning("usage.spike", metadata: Logger.Metadata(fields.map { ($0, .string($1)) }) { $1 })
            alerts?.send(
                "usage.spike",
                text: "billsync: usage spike on \(source.name) at \(UTC.iso8601(hour.hour)): \(hour.total) "
                    + "against a median of \(median) over the week before",
                fields: fields)
        }
    }
}

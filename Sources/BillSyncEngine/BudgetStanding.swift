import BillSyncConfig
import BillSyncCore
import BillSyncStore

/// A budget's month so far (`status`, the `budget.threshold` lines).
public struct BudgetStanding: Sendable, Equatable {
    public let name: String
    public let month: String
    public let currency: String
    public let monthly: ExactDecimal
    /// Invoiced lines whose period starts in the month, plus the usage of sources whose month is
    /// not invoiced yet (the accrual).
    public let monthToDate: ExactDecimal
    /// The month-to-date rate carried over the whole month.
    public let forecast: ExactDecimal

    /// Where `budget` stands in the UTC month of `now`.
    public static func of(_ budget: BudgetConfig, config: Config, store: BillingStore, now: Int64) throws
        -> BudgetStanding
    {
        let month = UTC.monthContaining(now)
        var total = ExactDecimal.zero
        for name in budget.sources {
            guard let source = config.source(named: name) else { continue }
            total += try store.invoicedAmount(
                source: name, currency: budget.currency, from: month.start, to: month.end)
            if source.descriptor.hasUsage, !(try store.invoicesCover(source: name, from: month.start, to: month.end)) {
                let usage = try store.usageSummary(source: name, from: month.start, to: month.end)
                if usage.currency == budget.currency { total += usage.total }
            }
        }
        let elapsed = max(1, (min(now, month.end) - month.start) / 3_600)
        let hours = (month.end - month.start) / 3_600
        return BudgetStanding(
            name: budget.name, month: UTC.month(month.start), currency: budget.currency, monthly: budget.monthly,
            monthToDate: total, forecast: total.scaled(by: hours, over: elapsed, decimals: 2))
    }

}

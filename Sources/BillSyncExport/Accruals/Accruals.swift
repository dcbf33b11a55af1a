import BillSyncCore
import BillSyncProviders
import BillSyncStore

/// The usage of one UTC month that was used before it was invoiced: Northflank bills a month
/// after the fact, and its hourly usage says exactly what the invoice will hold. Booked on the
/// month's last day against `Liabilities:Accrued:<Vendor>` and reversed on the next month's
/// first (an auto-reversing accrual: the invoice then posts on its own date as always).
public struct Accrual: Sendable, Equatable {
    public enum Status: String, Sendable {
        /// No invoice covers the month yet.
        case accrued
        /// The month's invoice has arrived: the reversal is matched by it.
        case reversed
    }

    public let source: String
    public let provider: String
    public let monthStart: Int64
    public let monthEnd: Int64
    public let usage: UsageSummary
    public let status: Status

    public var month: String { UTC.month(monthStart) }
    public var currency: String { usage.currency ?? "" }
    /// The month's last day, where the accrual is booked.
    public var accrualDate: Int64 { monthEnd - 86_400 }
    /// Whether hours up to the month's end are stored (else accrued up to the last synced hour).
    public var complete: Bool { usage.hours == Int((monthEnd - monthStart) / 3_600) }

    /// Each price component with a non-zero amount, as the invoice's line types.
    public var lines: [(lineType: String, amount: ExactDecimal)] {
        zip(UsageComponents.all, usage.amounts).compactMap { component, amount in
            amount.isZero ? nil : (component.lineType, amount)
        }
    }

    /// Every noted month of every source, with its stored usage; by source and month.
    public static func all(store: BillingStore) throws -> [Accrual] {
        try store.accrualMonths().map { row in
            let month = UTC.monthContaining(row.monthStart)
            let covered = try store.invoicesCover(source: row.source, from: month.start, to: month.end)
            return Accrual(
                source: row.source, provider: row.provider, monthStart: month.start, monthEnd: month.end,
                usage: try store.usageSummary(source: row.source, from: month.start, to: month.end),
                status: covered ? .reversed : .accrued)
        }
    }
}

/// `accruals.csv`: one row per noted month and price component.
enum AccrualsCSV {
    static let columns = [
        "source", "provider", "month", "currency", "line_type", "amount", "hours", "first_hour_utc",
        "last_hour_utc", "status",
    ]

    static func write(_ accruals: [Accrual], bom: Bool, path: String) throws -> ExportedFile {
        try CSVExport.streaming(path, header: columns, bom: bom) { out in
            for accrual in accruals {
                for line in accrual.lines {
                    out.csv.text(accrual.source)
                    out.csv.text(accrual.provider)
                    out.csv.text(accrual.month)
                    out.csv.text(accrual.currency)
                    out.csv.text(line.lineType)
                    out.csv.number(line.amount.formatted(minimumDecimals: 2))
                    out.csv.number("\(accrual.usage.hours)")
                    out.csv.number(accrual.usage.firstHour.map(UTC.dateTime) ?? "")
                    out.csv.number(accrual.usage.lastHour.map(UTC.dateTime) ?? "")
                    out.csv.text(accrual.status.rawValue)
                    try out.endRow()
                }
            }
        }
    }
}

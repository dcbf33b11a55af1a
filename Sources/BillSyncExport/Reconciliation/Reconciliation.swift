import BillSyncCore
import BillSyncProviders
import BillSyncStore

/// One check of one invoice (`billsync reconcile`, `reconciliation.csv`).
public struct ReconcileFinding: Sendable, Equatable {
    public enum Status: String, Sendable {
        case ok, mismatch, incomplete
    }

    public var source: String
    public var provider: String
    public var invoiceID: String
    public var periodStart: Int64
    public var periodEnd: Int64
    public var currency: String
    /// `lines`, `usage:<line type>` or `focus`.
    public var check: String
    public var expected: ExactDecimal
    public var actual: ExactDecimal
    public var status: Status
    /// For `incomplete` usage checks: the hours of the period missing from the store, and where
    /// the source's usage has been read up to when that is before the period's end.
    public var missingHours: [Int64] = []
    public var readUntil: Int64?

    public var difference: ExactDecimal { actual - expected }

    /// Counts (`list-total`) are written as whole numbers, amounts with two decimals at least.
    public func text(_ value: ExactDecimal) -> String {
        value.formatted(minimumDecimals: check == "list-total" ? 0 : 2)
    }
}

/// The checks that the invoices and the usage agree:
/// - `lines`: the provider's lines add up to the total; always true by construction, and the
///   difference is the size of the `adjustment` line billsync added (zero when none);
/// - `usage:<component>` (sources with hourly usage): the stored usage hours inside the
///   invoice's period, added up per price component, against the invoice's price for that
///   component; `incomplete` when hours of the period are missing from the store (they are
///   listed), `mismatch` when the difference passes the source's `reconcile_tolerance`.
///   Invoices whose period starts before the source's `usage_start` are not checked;
/// - `focus`: FOCUS's `BilledCost` summed per `InvoiceId` (one row per line item) against the
///   invoice total;
/// - `list-total` (Typesense Cloud, one per source, not with a month): the invoice count the
///   list states (`total`) against the invoices stored (the periods are those of the stored ones).
public enum Reconciliation {
    public static let columns = [
        "source", "provider", "invoice_id", "period_start_utc", "period_end_utc", "currency", "check", "expected",
        "actual", "difference", "status",
    ]

    /// Every check, by source, period and invoice; `month` (`YYYY-MM`) keeps the invoices whose
    /// period starts in it, `source` one source's.
    public static func run(
        store: BillingStore, tolerances: [String: ExactDecimal] = [:], month: String? = nil, source: String? = nil
    ) throws -> [ReconcileFinding] {
        var out: [ReconcileFinding] = []
        try run(store: store, tolerances: tolerances, month: month, source: source) { out.append($0) }
        return out
    }

    /// The same, each finding handed to `emit` as it is made (the store is read one invoice at
    /// a time, so memory stays flat whatever the history).
    public static func run(
        store: BillingStore, tolerances: [String: ExactDecimal] = [:], month: String? = nil, source: String? = nil,
        emit: (ReconcileFinding) throws -> Void
    ) throws {
        var usageStart: [String: (start: Int64, readUntil: Int64)] = [:]
        for s in try store.invoiceSources() where source == nil || s.source == source {
            let state = try store.state(source: s.source, provider: s.provider)
            if let start = state.usageStart { usageStart[s.source] = (start, state.usageDoneUntil ?? start) }
        }
        try store.forEachInvoiceByPeriod(source: source) { h, lines, usage in
            guard month == nil || UTC.month(h.periodStart) == month else { return }
            let hasUsage = ProviderRegistry.descriptor(for: ProviderKind(rawValue: h.provider))?.hasUsage ?? false
            var provided = ExactDecimal.zero
            var all = ExactDecimal.zero
            var byType: [String: ExactDecimal] = [:]
            for line in lines {
                let amount = try ExactDecimal(parsing: line.amount)
                all += amount
                if line.lineType != "adjustment" { provided += amount }
                if hasUsage { byType[line.lineType, default: .zero] += amount }
            }
            let total = try ExactDecimal(parsing: h.total)
            func finding(
                _ check: String, _ expected: ExactDecimal, _ actual: ExactDecimal, _ status: ReconcileFinding.Status
            )
                -> ReconcileFinding
            {
                ReconcileFinding(
                    source: h.source, provider: h.provider, invoiceID: h.id, periodStart: h.periodStart,
                    periodEnd: h.periodEnd, currency: h.currency, check: check, expected: expected, actual: actual,
                    status: status)
            }
            try emit(finding("lines", total, provided, .ok))
            if hasUsage, let range = usageStart[h.source], h.periodStart >= range.start {
                for f in try usageChecks(
                    usage, h, byType, readUntil: range.readUntil, tolerance: tolerances[h.source] ?? .zero, finding)
                {
                    try emit(f)
                }
            }
            try emit(finding("focus", total, all, all == total ? .ok : .mismatch))
        }
        // The list's own count against the invoices stored (no month: the whole list).
        for list in try store.listTotals() where (source == nil || list.source == source) && month == nil {
            try emit(
                ReconcileFinding(
                    source: list.source, provider: list.provider, invoiceID: "", periodStart: list.from,
                    periodEnd: list.to, currency: "", check: "list-total", expected: ExactDecimal(Int(list.listed)),
                    actual: ExactDecimal(Int(list.stored)), status: list.listed == list.stored ? .ok : .mismatch))
        }
    }

    /// The usage checks of one invoice; `readUntil` is where the source's usage has been read
    /// up to (every hour before it at least once): a period past it is `incomplete` too.
    static func usageChecks(
        _ usage: BillingStore.UsageReader, _ h: BillingStore.InvoiceRow, _ byType: [String: ExactDecimal],
        readUntil: Int64, tolerance: ExactDecimal,
        _ finding: (String, ExactDecimal, ExactDecimal, ReconcileFinding.Status) -> ReconcileFinding
    ) throws -> [ReconcileFinding] {
        let summary = try usage.summary(source: h.source, from: h.periodStart, to: h.periodEnd)
        let readEnd = min(h.periodEnd, max(h.periodStart, readUntil))
        let missing =
            summary.hours < Int((readEnd - h.periodStart) / 3_600)
            ? try usage.missingHours(source: h.source, from: h.periodStart, to: readEnd) : []
        let unread = readEnd < h.periodEnd
        var out: [ReconcileFinding] = []
        for (i, component) in UsageComponents.all.enumerated() {
            let expected = byType[component.lineType] ?? .zero
            let actual = summary.amounts[i]
            let difference = actual - expected
            let within = !(tolerance < difference) && !(difference < .zero - tolerance)
            var f = finding(
                "usage:" + component.lineType, expected, actual,
                !missing.isEmpty || unread ? .incomplete : within ? .ok : .mismatch)
            f.missingHours = missing
            if unread { f.readUntil = readEnd }
            out.append(f)
        }
        return out
    }

    /// `2026-09-10T00:00Z+5h, 2026-09-20T13:00Z`: hours as runs, for people.
    public static func describe(hours: [Int64]) -> String {
        var runs: [(start: Int64, count: Int)] = []
        for hour in hours {
            if let last = runs.last, last.start + Int64(last.count) * 3_600 == hour {
                runs[runs.count - 1].count += 1
            } else {
                runs.append((hour, 1))
            }
        }
        return runs.map { run in
            let start = String(UTC.iso8601(run.start).dropLast(4)) + "Z"
            return run.count == 1 ? start : "\(start)+\(run.count)h"
        }.joined(separator: ", ")
    }

    /// `reconciliation.csv`, streamed from the store.
    static func writeCSV(
        store: BillingStore, tolerances: [String: ExactDecimal], bom: Bool, path: String
    ) throws -> ExportedFile {
        try CSVExport.streaming(path, header: columns, bom: bom) { out in
            try run(store: store, tolerances: tolerances) { f in
                out.csv.text(f.source)
                out.csv.text(f.provider)
                out.csv.text(f.invoiceID)
                out.csv.number(UTC.dateTime(f.periodStart))
                out.csv.number(UTC.dateTime(f.periodEnd))
                out.csv.text(f.currency)
                out.csv.text(f.check)
                out.csv.number(f.text(f.expected))
                out.csv.number(f.text(f.actual))
                out.csv.number(f.text(f.difference))
                out.csv.text(f.status.rawValue)
                try out.endRow()
            }
        }
    }
}

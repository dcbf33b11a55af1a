import BillSyncCore
import BillSyncStore

/// `invoices.csv`, `line_items.csv` and `usage/YYYY-MM.csv` (SPEC §6).
public enum CSVExport {
    public static let invoiceColumns = [
        "source", "provider", "invoice_id", "invoice_number", "status", "provider_status", "currency",
        "period_start_utc", "period_end_utc", "issued_on", "paid_on", "subtotal", "total", "credits_applied", "url",
    ]
    public static let lineItemColumns = [
        "source", "provider", "invoice_id", "line_no", "line_type", "category", "description", "quantity", "unit",
        "unit_price", "amount", "currency", "resource_id", "attributes",
    ]
    public static let usageColumns = [
        "source", "provider", "hour_start_utc", "currency", "total", "paas_total", "cpu", "memory", "storage", "gpu",
        "byoc_total", "byoc_vcpu", "byoc_memory", "byoc_gpu_memory", "byoc_cluster",
    ]

    public static func invoices(_ invoices: [StoredInvoice], bom: Bool) -> CSVWriter {
        var csv = CSVWriter(header: invoiceColumns, bom: bom)
        for stored in invoices {
            let inv = stored.invoice
            csv.text(stored.source)
            csv.text(stored.provider)
            csv.text(inv.id)
            csv.text(inv.number)
            csv.number(inv.status.rawValue)
            csv.text(inv.providerStatus)
            csv.text(inv.currency)
            csv.number(UTC.dateTime(inv.periodStart))
            csv.number(UTC.dateTime(inv.periodEnd))
            csv.number(UTC.date(inv.issuedOn))
            csv.number(stored.paidOn.map(UTC.date) ?? "")
            csv.number(inv.subtotal?.description ?? "")
            csv.number(inv.total.description)
            csv.number(inv.creditsApplied.description)
            csv.text(inv.url)
            csv.endRow()
        }
        return csv
    }

    public static func lineItems(_ invoices: [StoredInvoice], bom: Bool) -> CSVWriter {
        var csv = CSVWriter(header: lineItemColumns, bom: bom)
        for stored in invoices {
            for line in stored.invoice.lineItems ?? [] {
                csv.text(stored.source)
                csv.text(stored.provider)
                csv.text(stored.invoice.id)
                csv.number(String(line.lineNo))
                csv.text(line.lineType)
                csv.number(line.category.rawValue)
                csv.text(line.description)
                csv.number(line.quantity?.formatted(minimumDecimals: 0) ?? "")
                csv.text(line.unit)
                csv.number(line.unitPrice?.description ?? "")
                csv.number(line.amount.description)
                csv.text(stored.invoice.currency)
                csv.text(line.resourceID)
                csv.text(line.attributes)
                csv.endRow()
            }
        }
        return csv
    }

    /// One month's usage file.
    public static func usage(store: BillingStore, month: String, bom: Bool) throws -> CSVWriter {
        var csv = CSVWriter(header: usageColumns, bom: bom)
        guard let start = UTC.parse(month + "-01") else { return csv }
        var c = UTC.civil(start)
        c.month += 1
        if c.month > 12 { c.month = 1; c.year += 1 }
        try store.forEachUsageRow(from: start, to: UTC.unix(c)) { row in
            csv.text(row.source)
            csv.text(row.provider)
            csv.number(UTC.dateTime(row.hourStart))
            csv.text(row.currency)
            // The stored amounts are already canonical decimal text; only the total is computed.
            csv.number((try ExactDecimal(parsing: row.amounts[0]) + ExactDecimal(parsing: row.amounts[5])).description)
            for amount in row.amounts { csv.number(amount) }
            csv.endRow()
        }
        return csv
    }
}

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

    /// A CSV streamed into its file, flushed every 256 KiB.
    struct Stream {
        var csv: CSVWriter
        let file: StreamedFile

        init(path: String, header: [String], bom: Bool) throws {
            csv = CSVWriter(header: header, bom: bom)
            file = try StreamedFile(path: path)
        }

        mutating func endRow() throws {
            csv.endRow()
            if csv.bytes.count >= 1 << 18 { try file.write(csv.take()) }
        }

        mutating func finish() throws -> ExportedFile {
            try file.write(csv.take())
            let written = try file.finish()
            return ExportedFile(path: file.path, bytes: file.size, rows: csv.rows, written: written)
        }
    }

    static func streaming(_ path: String, header: [String], bom: Bool, _ rows: (inout Stream) throws -> Void) throws
        -> ExportedFile
    {
        var stream = try Stream(path: path, header: header, bom: bom)
        do {
            try rows(&stream)
            return try stream.finish()
        } catch {
            stream.file.abandon()
            throw error
        }
    }

    public static func invoices(store: BillingStore, bom: Bool, path: String) throws -> ExportedFile {
        try streaming(path, header: invoiceColumns, bom: bom) { out in
            try store.forEachRawInvoiceRow { row in
                out.csv.text(utf8: row.bytes(.source))
                out.csv.text(utf8: row.bytes(.provider))
                out.csv.text(utf8: row.bytes(.invoiceID))
                out.csv.text(utf8: row.bytes(.invoiceNumber))
                out.csv.number(utf8: row.bytes(.status))
                out.csv.text(utf8: row.bytes(.providerStatus))
                out.csv.text(utf8: row.bytes(.currency))
                out.csv.number(UTC.dateTime(row.int64(.periodStart)))
                out.csv.number(UTC.dateTime(row.int64(.periodEnd)))
                out.csv.number(UTC.date(row.int64(.issuedOn)))
                out.csv.number(row.isNull(.paidOn) ? "" : UTC.date(row.int64(.paidOn)))
                out.csv.number(utf8: row.bytes(.subtotal))
                out.csv.number(utf8: row.bytes(.total))
                out.csv.number(utf8: row.bytes(.creditsApplied))
                out.csv.text(utf8: row.bytes(.url))
                try out.endRow()
            }
        }
    }

    public static func lineItems(store: BillingStore, bom: Bool, path: String) throws -> ExportedFile {
        try streaming(path, header: lineItemColumns, bom: bom) { out in
            try store.forEachRawLineItemRow { row in
                out.csv.text(utf8: row.bytes(.source))
                out.csv.text(utf8: row.bytes(.provider))
                out.csv.text(utf8: row.bytes(.invoiceID))
                out.csv.number(utf8: row.bytes(.lineNo))
                out.csv.text(utf8: row.bytes(.lineType))
                out.csv.number(utf8: row.bytes(.category))
                out.csv.text(utf8: row.bytes(.description))
                out.csv.number(utf8: row.bytes(.quantity))
                out.csv.text(utf8: row.bytes(.unit))
                out.csv.number(utf8: row.bytes(.unitPrice))
                out.csv.number(utf8: row.bytes(.amount))
                out.csv.text(utf8: row.bytes(.currency))
                out.csv.text(utf8: row.bytes(.resourceID))
                out.csv.text(utf8: row.bytes(.attributes))
                try out.endRow()
            }
        }
    }

    /// One month's usage file.
    public static func usage(store: BillingStore, month: String, bom: Bool, path: String) throws -> ExportedFile {
        try streaming(path, header: usageColumns, bom: bom) { out in
            guard let first = UTC.parse(month + "-01") else { return }
            let range = UTC.monthContaining(first)
            // A million rows for a large store: the hour and the eleven amounts are written
            // straight into the file's buffer, total first.
            let amountColumns: [BillingStore.UsageColumn] = [
                .total, .paasTotal, .cpu, .memory, .storage, .gpu, .byocTotal, .byocVCPU, .byocMemory, .byocGPUMemory,
                .byocCluster,
            ]
            try store.forEachRawUsageRow(from: range.start, to: range.end) { row in
                out.csv.text(utf8: row.bytes(.source))
                out.csv.text(utf8: row.bytes(.provider))
                out.csv.numbers(capacity: 19) { p in UTC.writeDateTime(row.int64(.hourStart), into: p) }
                out.csv.text(utf8: row.bytes(.currency))
                var capacity = 0
                for column in amountColumns { capacity += row.amountCapacity(column) + 1 }
                out.csv.numbers(capacity: capacity) { p in
                    var n = 0
                    for (i, column) in amountColumns.enumerated() {
                        if i > 0 {
                            p[n] = UInt8(ascii: ",")
                            n += 1
                        }
                        n += row.writeAmount(column, into: p + n)
                    }
                    return n
                }
                try out.endRow()
            }
        }
    }
}

/// One invoice as served, for `/_sim/truth/invoices`: money in major units, exact.
struct TruthInvoice: Sendable {
    let id: String
    /// Typesense's invoice number; the others have none.
    let number: String?
    /// The provider's status as served (Northflank: `paid` or `unpaid`).
    let status: String
    let currency: String
    let periodStart: Int64
    /// As served: exclusive for Northflank and UsageFlow, inclusive (`…:59:59`) for Typesense.
    let periodEnd: Int64
    /// Typesense `invoice_date`, UsageFlow `createdAt`, Northflank the period's end.
    let issued: Int64
    let total: WireAmount
    /// Northflank's `subTotal`; the others have none.
    let subtotal: WireAmount?
    let creditsApplied: WireAmount
    let lineItems: [TruthLineItem]
}

struct TruthLineItem: Sendable {
    let type: String
    let description: String
    let quantity: WireAmount
    let unitPrice: WireAmount
    let amount: WireAmount
}

/// The `/_sim/truth/...` documents: what the simulator serves, every amount an exact
/// major-unit decimal string with at least two decimals (`"1250.00"`, `"0.123456"`).
enum GroundTruth {
    static func invoices(_ invoices: [TruthInvoice]) -> JSONText {
        var json = JSONText(capacity: 512 + invoices.count * 600)
        json.beginArray()
        for invoice in invoices {
            json.beginObject()
            json.field("id", invoice.id)
            json.key("number")
            if let number = invoice.number {
                json.string(number)
            } else {
                json.null()
            }
            json.field("status", invoice.status)
            json.field("currency", invoice.currency)
            json.field("period_start", invoice.periodStart)
            json.field("period_end", invoice.periodEnd)
            json.field("issued", invoice.issued)
            json.moneyString("total", invoice.total)
            json.key("subtotal")
            if let subtotal = invoice.subtotal {
                json.string(subtotal.text(minFractionDigits: 2))
            } else {
                json.null()
            }
            json.moneyString("credits_applied", invoice.creditsApplied)
            json.key("line_items")
            json.beginArray()
            for item in invoice.lineItems {
                json.beginObject()
                json.field("type", item.type)
                json.field("description", item.description)
                json.field("quantity", item.quantity.text())
                json.moneyString("unit_price", item.unitPrice)
                json.moneyString("amount", item.amount)
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        return json
    }

    /// Northflank usage of `account` for the hour starts in `hours` (whole hours), as served:
    /// missing hours left out.
    static func usage(_ northflank: NorthflankAPI, account: NorthflankAPI.Account, hours: Range<Int64>) -> JSONText {
        let count = max(
            0, (hours.upperBound - hours.lowerBound + UTCCalendar.secondsPerHour - 1) / UTCCalendar.secondsPerHour)
        var json = JSONText(capacity: 64 + Int(min(count, 100_000)) * 300)
        json.beginArray()
        var hour = northflank.servedHour(account, atOrAfter: hours.lowerBound)
        while hour < hours.upperBound {
            let usage = northflank.usage(account, hour: hour)
            let major = { (units: Int64) in WireAmount(units, scale: northflank.usageScale).majorUnits }
            json.beginObject()
            json.field("hour", hour)
            json.moneyString("total", major(usage.total))
            json.moneyString("paas_total", major(usage.paas.total))
            json.moneyString("cpu", major(usage.paas.cpu))
            json.moneyString("memory", major(usage.paas.memory))
            json.moneyString("storage", major(usage.paas.storage))
            json.moneyString("gpu", major(usage.paas.gpu))
            json.moneyString("byoc_total", major(usage.byoc.total))
            json.moneyString("byoc_vcpu", major(usage.byoc.vcpu))
            json.moneyString("byoc_memory", major(usage.byoc.memory))
            json.moneyString("byoc_gpu_memory", major(usage.byoc.gpuMemory))
            json.moneyString("byoc_cluster", major(usage.byoc.cluster))
            json.endObject()
            hour = northflank.servedHour(account, atOrAfter: hour + UTCCalendar.secondsPerHour)
        }
        json.endArray()
        return json
    }
}

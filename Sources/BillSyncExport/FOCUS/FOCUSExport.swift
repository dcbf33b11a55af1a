import BillSyncCore
import BillSyncStore

/// `focus/YYYY-MM.csv`: FOCUS 1.2 cost and usage rows, one per line item, in files by the
/// month the billing period starts. Nulls are empty cells; instants `YYYY-MM-DDTHH:mm:ssZ`.
/// `BilledCost` summed per `InvoiceId` equals the invoice total.
enum FOCUSExport {
    static let columns = [
        "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId", "BillingAccountName",
        "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd", "ChargeCategory", "ChargeClass",
        "ChargeDescription", "ChargeFrequency", "ChargePeriodStart", "ChargePeriodEnd", "InvoiceId",
        "InvoiceIssuerName", "ProviderName", "PublisherName", "PricingQuantity", "PricingUnit", "ServiceCategory",
        "ServiceName", "ResourceId",
        "x_Source", "x_Provider", "x_LineNumber", "x_LineType", "x_InvoiceStatus", "x_IssuedOn", "x_PaidOn", "x_Attributes",
    ]

    static func issuer(_ provider: String) -> String {
        switch ProviderKind(rawValue: provider) {
        case .northflank?: "Northflank"
        case .typesenseCloud?: "Typesense Cloud"
        case .usageflow?: "UsageFlow"
        case nil: provider
        }
    }

    static func category(_ c: LineCategory) -> String {
        switch c {
        case .usage: "Usage"
        case .purchase: "Purchase"
        case .tax: "Tax"
        case .credit: "Credit"
        case .adjustment: "Adjustment"
        }
    }

    static func serviceCategory(provider: String, lineType: String) -> String {
        switch (ProviderKind(rawValue: provider), lineType) {
        case (.northflank?, "storage"): "Storage"
        case (.northflank?, "tax"), (.northflank?, "adjustment"): "Other"
        case (.northflank?, _): "Compute"
        case (.typesenseCloud?, "node"): "Databases"
        case (.typesenseCloud?, "bandwidth"): "Networking"
        default: "Other"
        }
    }

    static func frequency(_ line: LineItem) -> String {
        switch line.category {
        case .usage, .tax: "Usage-Based"
        case .purchase: line.lineType == "support" ? "Recurring" : "One-Time"
        case .credit, .adjustment: "One-Time"
        }
    }

    /// Month → file, for the invoices given.
    static func files(_ invoices: [StoredInvoice], bom: Bool) -> [(month: String, csv: CSVWriter)] {
        var byMonth: [String: [StoredInvoice]] = [:]
        for stored in invoices { byMonth[UTC.month(stored.invoice.periodStart), default: []].append(stored) }
        return byMonth.keys.sorted().map { month in
            var csv = CSVWriter(header: columns, bom: bom)
            for stored in byMonth[month]! {
                let inv = stored.invoice
                let issuerName = issuer(stored.provider)
                for line in inv.lineItems ?? [] {
                    let cost = line.amount.description
                    csv.number(cost)
                    csv.number(line.lineType == "prepaid-credit-purchase" ? "0.00" : cost)
                    csv.number(cost)
                    csv.number(cost)
                    csv.text(stored.source)
                    csv.text(stored.source)
                    csv.text(inv.currency)
                    csv.number(UTC.iso8601(inv.periodStart))
                    csv.number(UTC.iso8601(inv.periodEnd))
                    csv.number(category(line.category))
                    csv.number(line.category == .adjustment ? "Correction" : "")
                    csv.text(line.description)
                    csv.number(frequency(line))
                    csv.number(UTC.iso8601(inv.periodStart))
                    csv.number(UTC.iso8601(inv.periodEnd))
                    csv.text(inv.id)
                    csv.text(issuerName)
                    csv.text(issuerName)
                    csv.text(issuerName)
                    csv.number(line.quantity?.formatted(minimumDecimals: 0) ?? "")
                    csv.text(line.unit)
                    csv.number(serviceCategory(provider: stored.provider, lineType: line.lineType))
                    csv.text(issuerName)
                    csv.text(line.resourceID)
                    csv.text(stored.source)
                    csv.text(stored.provider)
                    csv.number(String(line.lineNo))
                    csv.text(line.lineType)
                    csv.number(inv.status.rawValue)
                    csv.number(UTC.date(inv.issuedOn))
                    csv.number(stored.paidOn.map(UTC.date) ?? "")
                    csv.text(line.attributes)
                    csv.endRow()
                }
            }
            return (month, csv)
        }
    }
}

import BillSyncCore
import BillSyncProviders
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
        "ServiceName", "ServiceSubcategory", "ResourceId",
        "x_Source", "x_Provider", "x_LineNumber", "x_LineType", "x_InvoiceStatus", "x_IssuedOn", "x_PaidOn",
        "x_Attributes",
    ]

    static func descriptor(_ provider: String) -> ProviderDescriptor? {
        ProviderRegistry.descriptor(for: ProviderKind(rawValue: provider))
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

    static func frequency(category: String, lineType: String) -> String {
        switch LineCategory(rawValue: category) ?? .usage {
        case .usage, .tax: "Usage-Based"
        case .purchase: lineType == "support" ? "Recurring" : "One-Time"
        case .credit, .adjustment: "One-Time"
        }
    }

    /// Streams every line item into its month's file; returns the files.
    static func write(store: BillingStore, directory: String, bom: Bool) throws -> [ExportedFile] {
        var files: [ExportedFile] = []
        var current: (month: String, stream: CSVExport.Stream)?
        do {
            try store.forEachLineByPeriodMonth { line, inv in
                let month = UTC.month(inv.periodStart)
                if current?.month != month {
                    if var done = current?.stream { files.append(try done.finish()) }
                    current = (
                        month, try CSVExport.Stream(path: directory + "/focus/\(month).csv", header: columns, bom: bom)
                    )
                }
                let provider = descriptor(inv.provider)
                let issuerName = provider?.focusName ?? inv.provider
                let service =
                    provider?.focusService(line.lineType) ?? FOCUSService(issuerName, "Other", "Other (Other)")
                let category = LineCategory(rawValue: line.category) ?? .usage
                let cost = line.amount
                var csv = current!.stream.csv
                csv.number(cost)
                csv.number(line.lineType == "prepaid-credit-purchase" ? "0.00" : cost)
                csv.number(cost)
                csv.number(cost)
                csv.text(inv.source)
                csv.text(inv.source)
                csv.text(inv.currency)
                csv.number(UTC.iso8601(inv.periodStart))
                csv.number(UTC.iso8601(inv.periodEnd))
                csv.number(Self.category(category))
                csv.number(category == .adjustment ? "Correction" : "")
                csv.text(line.description)
                csv.number(frequency(category: line.category, lineType: line.lineType))
                csv.number(UTC.iso8601(inv.periodStart))
                csv.number(UTC.iso8601(inv.periodEnd))
                csv.text(inv.id)
                csv.text(issuerName)
                csv.text(issuerName)
                csv.text(issuerName)
                csv.number(line.quantity ?? "")
                csv.text(provider?.focusPricingUnit(line.unit) ?? line.unit)
                csv.number(service.category)
                csv.text(service.name)
                csv.text(service.subcategory)
                csv.text(line.resourceID)
                csv.text(inv.source)
                csv.text(inv.provider)
                csv.number(String(line.lineNo))
                csv.text(line.lineType)
                csv.number(inv.status)
                csv.number(UTC.date(inv.issuedOn))
                csv.number(inv.paidOn.map(UTC.date) ?? "")
                csv.text(line.attributes)
                current!.stream.csv = csv
                try current!.stream.endRow()
            }
            if var done = current?.stream { files.append(try done.finish()) }
        } catch {
            current?.stream.file.abandon()
            throw error
        }
        return files
    }
}

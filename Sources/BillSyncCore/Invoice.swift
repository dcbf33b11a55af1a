/// A provider's name, as the config's `provider` value and the store's `provider` column say
/// it. What billsync knows of each provider is its descriptor (`ProviderRegistry` in
/// BillSyncProviders), which also declares its name as a static member here.
public struct ProviderKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }
}

/// Normalized invoice status (SPEC §5).
public enum InvoiceStatus: String, Sendable, Codable {
    case open, paid, failed, unknown

    /// Only a paid invoice is final: anything else is re-read until it is.
    public var isFinal: Bool { self == .paid }
}

/// FOCUS ChargeCategory of a line.
public enum LineCategory: String, Sendable, Codable {
    case usage, purchase, tax, credit, adjustment
}

public struct LineItem: Sendable, Equatable {
    public var lineNo: Int
    public var lineType: String
    public var category: LineCategory
    public var description: String
    public var quantity: ExactDecimal?
    public var unit: String
    public var unitPrice: ExactDecimal?
    public var amount: ExactDecimal
    public var resourceID: String
    /// The provider's parameters as compact JSON with sorted keys (empty when none).
    public var attributes: String

    public init(
        lineNo: Int = 0, lineType: String, category: LineCategory, description: String,
        quantity: ExactDecimal? = nil, unit: String = "", unitPrice: ExactDecimal? = nil,
        amount: ExactDecimal, resourceID: String = "", attributes: String = ""
    ) {
        self.lineNo = lineNo
        self.lineType = lineType
        self.category = category
        self.description = description
        self.quantity = quantity
        self.unit = unit
        self.unitPrice = unitPrice
        self.amount = amount
        self.resourceID = resourceID
        self.attributes = attributes
    }
}

/// One invoice as billsync keeps it: times in unix seconds (UTC), the period half-open.
public struct Invoice: Sendable, Equatable {
    public var id: String
    public var number: String
    public var status: InvoiceStatus
    public var providerStatus: String
    public var currency: String
    public var periodStart: Int64
    public var periodEnd: Int64
    /// Start of the UTC day the invoice was issued.
    public var issuedOn: Int64
    public var subtotal: ExactDecimal?
    public var total: ExactDecimal
    public var creditsApplied: ExactDecimal
    public var url: String
    /// Nil when the page that brought the invoice carries no lines (Typesense's list).
    public var lineItems: [LineItem]?
    /// The key the invoice is stored under while its provider sends it without an id (see the
    /// README's field table). Set on every invoice of such a provider, so that the store can
    /// move a provisionally keyed invoice to its real id once one arrives.
    public var provisionalID: String?
    /// The fields the provider left out that billsync filled with its documented fallback.
    public var fallbacks: [String] = []

    public init(
        id: String, number: String = "", status: InvoiceStatus, providerStatus: String, currency: String,
        periodStart: Int64, periodEnd: Int64, issuedOn: Int64, subtotal: ExactDecimal? = nil,
        total: ExactDecimal, creditsApplied: ExactDecimal = .zero, url: String = "", lineItems: [LineItem]? = nil
    ) {
        self.id = id
        self.number = number
        self.status = status
        self.providerStatus = providerStatus
        self.currency = currency
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.issuedOn = issuedOn
        self.subtotal = subtotal
        self.total = total
        self.creditsApplied = creditsApplied
        self.url = url
        self.lineItems = lineItems
    }

    public var state: InvoiceState {
        InvoiceState(
            status: status.rawValue, providerStatus: providerStatus, total: total, creditsApplied: creditsApplied)
    }
}

/// What decides whether an invoice changed, the one rule the walk and the store share: its
/// status, normalized and as the provider says it, its total and the credits applied, compared
/// as exact decimals (`12.5` and `12.50` are the same amount).
public struct InvoiceState: Sendable, Equatable {
    public var status: String
    public var providerStatus: String
    /// Nil only for stored text that no longer reads as a decimal: never equal to a real amount.
    public var total: ExactDecimal?
    public var creditsApplied: ExactDecimal?

    public init(status: String, providerStatus: String, total: ExactDecimal?, creditsApplied: ExactDecimal?) {
        self.status = status
        self.providerStatus = providerStatus
        self.total = total
        self.creditsApplied = creditsApplied
    }

    /// A state read back from stored text; an amount that no longer reads as a decimal never
    /// equals a real one, so the invoice counts as changed and is written again.
    public init(status: String, providerStatus: String, total: String, creditsApplied: String) {
        self.init(
            status: status, providerStatus: providerStatus, total: try? ExactDecimal(parsing: total),
            creditsApplied: try? ExactDecimal(parsing: creditsApplied))
    }
}

/// One hour of usage for one source; amounts in major units.
public struct UsageHour: Sendable, Equatable {
    public var hourStart: Int64
    public var currency: String
    public var paasTotal: ExactDecimal
    public var cpu: ExactDecimal
    public var memory: ExactDecimal
    public var storage: ExactDecimal
    public var gpu: ExactDecimal
    public var byocTotal: ExactDecimal
    public var byocVCPU: ExactDecimal
    public var byocMemory: ExactDecimal
    public var byocGPUMemory: ExactDecimal
    public var byocCluster: ExactDecimal

    public init(
        hourStart: Int64, currency: String, paasTotal: ExactDecimal, cpu: ExactDecimal, memory: ExactDecimal,
        storage: ExactDecimal, gpu: ExactDecimal, byocTotal: ExactDecimal, byocVCPU: ExactDecimal,
        byocMemory: ExactDecimal, byocGPUMemory: ExactDecimal, byocCluster: ExactDecimal
    ) {
        self.hourStart = hourStart
        self.currency = currency
        self.paasTotal = paasTotal
        self.cpu = cpu
        self.memory = memory
        self.storage = storage
        self.gpu = gpu
        self.byocTotal = byocTotal
        self.byocVCPU = byocVCPU
        self.byocMemory = byocMemory
        self.byocGPUMemory = byocGPUMemory
        self.byocCluster = byocCluster
    }

    public var total: ExactDecimal { paasTotal + byocTotal }
}

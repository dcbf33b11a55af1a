import Foundation

/// Northflank's billing API: the organisation at `/v1/billing/...`, each team at
/// `/v1/teams/{team}/billing/...`; monthly invoices and hourly usage, cursor pagination,
/// money in cents with fractional digits (or major units with `MoneyUnit.decimal`).
struct NorthflankAPI: ProviderAPI {
    let options: SimulatorOptions
    let monthEnd: MonthEnd

    init(options: SimulatorOptions) {
        self.options = options
        monthEnd = MonthEnd(options)
    }

    var kind: SimulatedProvider { .northflank }
    var apiKey: String { options.northflankKey }
    var rateLimit: RateLimitPolicy? { RateLimitPolicy(limit: 1000, periodSeconds: 3_600, advertised: true) }
    var unauthorizedMessage: String { "Unauthenticated" }
    var rateLimitedMessage: String { "Too many requests" }

    /// Invoice amounts carry up to 4 fractional cent digits, usage amounts up to 6.
    static let invoiceScale = 4
    /// Usage amounts are in units of 10^-6 cent, 10^-8 with JavaScript-style numbers (whose
    /// point is amounts below 10^-6 cent).
    static func usageScale(_ options: SimulatorOptions) -> Int { options.javaScriptNumbers ? 8 : 6 }
    var usageScale: Int { Self.usageScale(options) }

    // MARK: Accounts

    /// `org` (index 0) or `team-N` (index N). Odd teams pay 20% tax; even teams run no BYOC.
    struct Account: Sendable {
        let index: Int

        var name: String { index == 0 ? "org" : "team-\(index)" }
        var isTaxed: Bool { index % 2 == 1 }
        var hasBYOC: Bool { index == 0 || index % 2 == 1 }
    }

    func account(_ name: String) -> Account? {
        if name == "org" { return Account(index: 0) }
        guard name.hasPrefix("team-"), let number = Int(name.dropFirst(5)), number >= 1, number <= options.teams,
            name == "team-\(number)"
        else { return nil }
        return Account(index: number)
    }

    /// Spend grows with this per-account factor, so accounts differ in size.
    func magnitude(_ account: Account) -> Int64 {
        var rng = SeededRandom(seed: options.seed, .northflankAccount, Int64(account.index))
        return rng.int(in: 1...6)
    }

    // MARK: Records

    struct PaaSPrice: Sendable {
        var cpu: Int64 = 0, memory: Int64 = 0, storage: Int64 = 0, gpu: Int64 = 0
        var total: Int64 { cpu + memory + storage + gpu }
    }

    struct BYOCPrice: Sendable {
        var vcpu: Int64 = 0, memory: Int64 = 0, gpuMemory: Int64 = 0, cluster: Int64 = 0
        var total: Int64 { vcpu + memory + gpuMemory + cluster }
    }

    /// Amounts in units of 10^-`scale` cent: `invoiceScale`, or `usageScale` when billed from usage.
    struct Invoice: Sendable {
        let id: String
        let periodStart: Int64
        let periodEnd: Int64
        let paas: PaaSPrice
        let byoc: BYOCPrice
        let scale: Int
        let tax: Int64
        let paid: Bool

        var subTotal: Int64 { paas.total + byoc.total }
        var total: Int64 { subTotal + tax }
    }

    /// Amounts in units of 10^-6 cent.
    struct UsageHour: Sendable {
        let timestamp: Int64
        let paas: PaaSPrice
        let byoc: BYOCPrice

        var total: Int64 { paas.total + byoc.total }
    }

    /// Invoice months (indexes from `UTCCalendar.monthIndex`), oldest to newest inclusive.
    struct InvoiceMonths {
        let oldest: Int64
        /// The newest month that ended before `now`; later ones were added by the control API.
        let newestGenerated: Int64
        let newest: Int64
        /// `usageHours(now:)`: the hours an invoice billed from usage may add up.
        let usageHours: Range<Int64>
    }

    func invoiceMonths(_ account: Account, now: Int64, changes: InvoiceChanges.Snapshot) -> InvoiceMonths {
        let generated = UTCCalendar.monthIndex(containing: now) - 1
        return InvoiceMonths(
            oldest: UTCCalendar.monthIndex(containing: now - Int64(options.historyDays) * UTCCalendar.secondsPerDay),
            newestGenerated: generated,
            newest: generated + Int64(changes.added(.northflank, account: account.name)),
            usageHours: usageHours(now: now))
    }

    static func invoiceID(_ account: Account, month: Int64) -> String {
        "nfinv_\(account.name)_\(UTCCalendar.yearMonth(ofMonth: month))"
    }

    func invoice(_ account: Account, month: Int64, months: InvoiceMonths, changes: InvoiceChanges.Snapshot) -> Invoice {
        let id = Self.invoiceID(account, month: month)
        let period = UTCCalendar.start(ofMonth: month)..<UTCCalendar.start(ofMonth: month + 1)
        var charges =
            options.invoicesFromUsage
            ? billedUsage(account, period: period, available: months.usageHours)
            : generatedCharges(account, month: month)
        charges.paas.cpu += monthEnd.offsets[id] ?? 0
        let subTotal = charges.paas.total + charges.byoc.total
        let paid = changes.status(.northflank, id: id).map { $0 == "paid" } ?? (month < months.newestGenerated)
        return Invoice(
            id: id, periodStart: period.lowerBound, periodEnd: period.upperBound,
            paas: charges.paas, byoc: charges.byoc, scale: charges.scale,
            // 20%, half up at the smallest unit (nearest below zero too: a fifth is never a half).
            tax: account.isTaxed ? UTCCalendar.floorDiv(2 * subTotal + 5, 10) : 0,
            paid: paid)
    }

    /// The components of an invoice not billed from usage, at `invoiceScale`.
    func generatedCharges(_ account: Account, month: Int64) -> Charges {
        var rng = SeededRandom(seed: options.seed, .northflankInvoice, Int64(account.index), month)
        let size = magnitude(account)
        let scale = Self.invoiceScale
        var paas = PaaSPrice()
        paas.cpu = Self.amount(&rng, belowCents: 150_000 * size, scale: scale)
        paas.memory = Self.amount(&rng, belowCents: 90_000 * size, scale: scale)
        paas.storage = rng.oneIn(6) ? 0 : Self.amount(&rng, belowCents: 8_000, scale: scale)
        paas.gpu = rng.oneIn(5) ? Self.amount(&rng, belowCents: 250_000, scale: scale) : 0
        var byoc = BYOCPrice()
        if account.hasBYOC {
            byoc.vcpu = Self.amount(&rng, belowCents: 60_000 * size, scale: scale)
            byoc.memory = Self.amount(&rng, belowCents: 30_000 * size, scale: scale)
            byoc.gpuMemory = rng.oneIn(6) ? Self.amount(&rng, belowCents: 80_000, scale: scale) : 0
            byoc.cluster = rng.int(in: 1...3) * 15_000 * 10_000
        }
        return Charges(paas: paas, byoc: byoc, scale: scale)
    }

    /// Hour starts from the day `historyDays` before `now` up to the last whole hour.
    func usageHours(now: Int64) -> Range<Int64> {
        let first = UTCCalendar.floor(
            now - Int64(options.historyDays) * UTCCalendar.secondsPerDay,
            to: UTCCalendar.secondsPerDay)
        return first..<UTCCalendar.floor(now, to: UTCCalendar.secondsPerHour)
    }

    /// The usage model's hour before spikes; `usage(_:hour:)` is what is metered.
    func generatedUsage(_ account: Account, hour: Int64) -> UsageHour {
        var rng = SeededRandom(
            seed: options.seed, .northflankUsage, Int64(account.index),
            UTCCalendar.floorDiv(hour, UTCCalendar.secondsPerHour))
        guard !rng.oneIn(10) else {
            return UsageHour(timestamp: hour, paas: PaaSPrice(), byoc: BYOCPrice())
        }
        let size = magnitude(account)
        let scale = usageScale
        var paas = PaaSPrice()
        paas.cpu = Self.amount(&rng, belowCents: 200 * size, scale: scale)
        paas.memory = Self.amount(&rng, belowCents: 120 * size, scale: scale)
        paas.storage = Self.amount(&rng, belowCents: 12, scale: scale)
        paas.gpu = rng.oneIn(8) ? Self.amount(&rng, belowCents: 300, scale: scale) : 0
        var byoc = BYOCPrice()
        if account.hasBYOC {
            byoc.vcpu = Self.amount(&rng, belowCents: 80 * size, scale: scale)
            byoc.memory = Self.amount(&rng, belowCents: 40 * size, scale: scale)
            byoc.gpuMemory = rng.oneIn(8) ? Self.amount(&rng, belowCents: 100, scale: scale) : 0
            byoc.cluster = Self.amount(&rng, belowCents: 25, scale: scale)
        }
        if options.javaScriptNumbers {
            // Amounts below 10^-6 cent, which JavaScript writes with an exponent (`2.9e-7`).
            if rng.oneIn(4) { paas.storage = Int64(rng.below(99)) + 1 }
            if account.hasBYOC && rng.oneIn(4) { byoc.cluster = Int64(rng.below(99)) + 1 }
        }
        return UsageHour(timestamp: hour, paas: paas, byoc: byoc)
    }

    private static let fractionDigitChoices = [0, 1, 2, 4, 6, 6, 6]

    /// A random amount below `belowCents`, in units of 10^-scale cent, with a random number
    /// of fractional digits so that `12`, `12.5` and `12.345678` all occur.
    static func amount(_ rng: inout SeededRandom, belowCents: Int64, scale: Int) -> Int64 {
        var unit: Int64 = 1
        for _ in 0..<scale { unit *= 10 }
        let raw = Int64(rng.below(UInt64(belowCents * unit)))
        var step: Int64 = 1
        for _ in 0..<(scale - min(scale, rng.element(of: fractionDigitChoices))) { step *= 10 }
        return raw / step * step
    }

    func money(_ units: Int64, scale: Int) -> WireAmount {
        let cents = WireAmount(units, scale: scale)
        return options.northflankMoney == .cents ? cents : cents.majorUnits
    }

    // MARK: Control and ground truth

    func account(named requested: String?) -> String? {
        account(requested ?? "org")?.name
    }

    func statusOverride(_ requested: String) -> String? {
        ["paid", "unpaid"].contains(requested) ? requested : nil
    }

    func hasInvoice(id: String, now: Int64, changes: InvoiceChanges.Snapshot) -> Bool {
        guard id.hasPrefix("nfinv_"), let separator = id.lastIndex(of: "_"),
            let account = account(String(id[id.index(id.startIndex, offsetBy: 6)..<separator])),
            let month = UTCCalendar.monthIndex(yearMonth: id[id.index(after: separator)...])
        else { return false }
        let months = invoiceMonths(account, now: now, changes: changes)
        return months.oldest <= month && month <= months.newest
    }

    func truthInvoices(account name: String, now: Int64, changes: InvoiceChanges.Snapshot, limit: Int)
        -> [TruthInvoice]
    {
        guard let account = account(name) else { return [] }
        let months = invoiceMonths(account, now: now, changes: changes)
        guard months.oldest <= months.newest else { return [] }
        return stride(from: months.newest, through: months.oldest, by: -1).prefix(limit).map { month in
            let invoice = invoice(account, month: month, months: months, changes: changes)
            let major = { (units: Int64) in WireAmount(units, scale: invoice.scale).majorUnits }
            let components: [(String, Int64)] = [
                ("cpu", invoice.paas.cpu), ("memory", invoice.paas.memory), ("storage", invoice.paas.storage),
                ("gpu", invoice.paas.gpu), ("byoc-vcpu", invoice.byoc.vcpu), ("byoc-memory", invoice.byoc.memory),
                ("byoc-gpu-memory", invoice.byoc.gpuMemory), ("byoc-cluster", invoice.byoc.cluster),
            ]
            return TruthInvoice(
                id: invoice.id, number: nil, status: invoice.paid ? "paid" : "unpaid", currency: "USD",
                periodStart: invoice.periodStart, periodEnd: invoice.periodEnd, issued: invoice.periodEnd,
                total: major(invoice.total), subtotal: major(invoice.subTotal),
                creditsApplied: WireAmount(0, scale: 2),
                lineItems: components.filter { $0.1 != 0 }.map { type, units in
                    TruthLineItem(
                        type: type, description: type, quantity: WireAmount(1, scale: 0),
                        unitPrice: major(units), amount: major(units))
                })
        }
    }
}

/// Typesense Cloud's management API for invoices: weekly invoices, page-number pagination,
/// integer cents, summaries in the list and line items in the detail.
struct TypesenseCloudAPI: ProviderAPI {
    let options: SimulatorOptions
    private let clusters: [Cluster]

    init(options: SimulatorOptions) {
        self.options = options
        clusters = (0..<max(3, options.typesenseBilledClusters)).map { Cluster(seed: options.seed, index: Int64($0)) }
    }

    var kind: SimulatedProvider { .typesense }
    var apiKey: String { options.typesenseKey }
    var rateLimit: RateLimitPolicy? { RateLimitPolicy(limit: 30, periodSeconds: 60, advertised: false) }
    var unauthorizedMessage: String {
        "Forbidden - a valid `X-TYPESENSE-CLOUD-MANAGEMENT-API-KEY` header must be sent."
    }
    var rateLimitedMessage: String { "Rate limit exceeded. Please try again after 1 minute." }

    // MARK: Records

    /// A search cluster whose nodes and bandwidth are billed.
    struct Cluster: Sendable {
        let id: String
        let parameters: [(name: String, value: String)]
        let label: String
        let nodeHourCents: Int64
        let bandwidthCentsPerGB: Int64

        init(seed: UInt64, index: Int64) {
            var rng = SeededRandom(seed: seed, .typesenseCluster, index)
            let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
            id = "0" + String((0..<16).map { _ in rng.element(of: alphabet) })
            let memory = rng.element(of: [
                ("0.5gb", "0.5 GB RAM", 3), ("1gb", "1 GB RAM", 6), ("2gb", "2 GB RAM", 12),
                ("4gb", "4 GB RAM", 25), ("8gb", "8 GB RAM", 50), ("16gb", "16 GB RAM", 100),
            ])
            let vcpu = rng.element(of: [
                ("2_vcpus_2_hr_burst_per_day", "2 vCPUs (2 hr burst)"), ("2_vcpus", "2 vCPUs"),
                ("4_vcpus", "4 vCPUs"), ("8_vcpus", "8 vCPUs"),
            ])
            let highPerformanceDisk = rng.oneIn(4)
            let highAvailability = !rng.oneIn(3)
            let regions = highAvailability && rng.oneIn(2)
            let region = rng.element(of: [
                ("oregon", "Oregon"), ("n_virginia", "N. Virginia"), ("frankfurt", "Frankfurt"),
                ("singapore", "Singapore"), ("sydney", "Sydney"), ("mumbai", "Mumbai"),
            ])
            let yesNo = { (flag: Bool) in flag ? ("yes", "Yes") : ("no", "No") }
            parameters = [
                ("cluster_id", id), ("memory_option", memory.0), ("vcpu_option", vcpu.0), ("gpu_option", "no"),
                ("high_performance_disk_option", yesNo(highPerformanceDisk).0),
                ("high_availability_option", yesNo(highAvailability).0),
                ("search_delivery_network_option", regions ? "3_regions" : "no"),
                ("load_balancing_option", "no"), ("region", region.0),
            ]
            label =
                "\(id) -- \(memory.1), \(vcpu.1), GPU:No, HiPerfDisk:\(yesNo(highPerformanceDisk).1), "
                + "HA:\(yesNo(highAvailability).1), SDN:\(regions ? "3 Regions" : "No"), LoadBalanced:No, \(region.1)"
            nodeHourCents = Int64(memory.2) * (highAvailability ? 3 : 1)
            bandwidthCentsPerGB = rng.element(of: [9, 12, 15])
        }
    }

    struct LineItem: Sendable {
        enum Parameters: Sendable {
            case cluster(Cluster)
            case support(plan: String, startsAt: Int64, endsAt: Int64)
            case none
        }

        let description: String
        let unitPriceCents: Int64
        let quantity: WireAmount
        let priceCents: Int64
        let type: String
        let parameters: Parameters
    }

    struct Invoice: Sendable {
        /// 0 is the oldest invoice.
        let index: Int
        let id: String
        let status: String
        let amountCents: Int64
        let periodStart: Int64
        let lineItems: [LineItem]
        let paidViaCardCents: Int64
        let paidViaCreditsCents: Int64
        let creditBalanceCents: Int64

        var number: Int { 10_000 + index }
        /// Inclusive, as Typesense serves it (`…:59:59`).
        var periodEnd: Int64 { periodStart + UTCCalendar.secondsPerWeek - 1 }
        var invoiceDate: Int64 { periodEnd + 1 }
    }

    /// How many invoices exist, how many of them were generated (the rest were added by
    /// the control API), and the Monday the newest generated one ends at.
    struct Layout {
        let generated: Int
        let count: Int
        let lastMonday: Int64
    }

    func layout(now: Int64, changes: InvoiceChanges.Snapshot) -> Layout {
        let generated = max(0, options.typesenseInvoices)
        let end =
            options.typesensePeriodDays == 7
            ? UTCCalendar.lastMonday(atOrBefore: now) : now - ((now % 86400) + 86400) % 86400
        return Layout(generated: generated, count: generated + changes.added(.typesense, account: ""), lastMonday: end)
    }

    func invoice(_ index: Int, layout: Layout, changes: InvoiceChanges.Snapshot) -> Invoice {
        var rng = SeededRandom(seed: options.seed, .typesenseInvoice, Int64(index))
        let period = Int64(max(1, options.typesensePeriodDays)) * 86400
        let periodStart = layout.lastMonday - Int64(layout.generated - index) * period
        let periodEnd = periodStart + period - 1
        let hasSupport = (index + 1) % 4 == 0
        let hasCreditPurchase = (index + 1) % 10 == 0
        let primary = Int(rng.below(UInt64(clusters.count)))
        let extraClusterItems = min(3 - (hasSupport ? 1 : 0) - (hasCreditPurchase ? 1 : 0), Int(rng.below(3)))
        let hours = period / 3600
        var items = [nodeItem(clusters[primary], hours: hours), bandwidthItem(clusters[primary], &rng)]
        let secondary = clusters[(primary + 1) % clusters.count]
        if options.typesenseBilledClusters > 0 {
            for extra in 1..<options.typesenseBilledClusters {
                let cluster = clusters[(primary + extra) % clusters.count]
                items += [nodeItem(cluster, hours: hours), bandwidthItem(cluster, &rng)]
            }
        } else {
            if extraClusterItems >= 1 {
                items.append(nodeItem(secondary, hours: hours))
            }
            if extraClusterItems >= 2 {
                items.append(bandwidthItem(secondary, &rng))
            }
        }
        if hasSupport {
            let plan = rng.element(of: [("Business", Int64(12_500)), ("Enterprise", Int64(50_000))])
            items.append(
                LineItem(
                    description: "Typesense Cloud Support - \(plan.0) Plan - \(UTCCalendar.dateTime(periodStart)) UTC "
                        + "to \(UTCCalendar.dateTime(periodEnd)) UTC",
                    unitPriceCents: plan.1, quantity: WireAmount(1, scale: 0), priceCents: plan.1, type: "support",
                    parameters: .support(plan: plan.0, startsAt: periodStart, endsAt: periodEnd)))
        }
        if hasCreditPurchase {
            let hundreds = rng.int(in: 1...50)
            items.append(
                LineItem(
                    description: "Prepaid Credit Purchase", unitPriceCents: 10_000,
                    quantity: WireAmount(hundreds, scale: 0),
                    priceCents: hundreds * 10_000, type: "prepaid_credit_purchase", parameters: .none))
        }
        if options.hostileText {
            items = items.enumerated().map { position, item in
                LineItem(
                    description: HostileText.sample(index * 5 + position) + " " + item.description,
                    unitPriceCents: item.unitPriceCents, quantity: item.quantity, priceCents: item.priceCents,
                    type: item.type, parameters: item.parameters)
            }
        }
        let itemized = items.reduce(0) { $0 + $1.priceCents }
        // Every 7th invoice carries a discount of one dollar that no line item shows.
        let amount = (index + 1) % 7 == 0 ? itemized - 100 : itemized
        let usesCredits = rng.oneIn(3)
        let creditShare = rng.int(in: 1...100)
        let balance = rng.int(in: 0...20_000) * 100
        let id = Self.invoiceID(index, seed: options.seed)
        let status =
            changes.status(.typesense, id: id)
            ?? (index == 3 ? "uncollectible" : index >= layout.generated - 2 ? "due" : "paid")
        let credits = status == "paid" && usesCredits ? amount * creditShare / 100 : 0
        return Invoice(
            index: index, id: id, status: status, amountCents: amount, periodStart: periodStart,
            lineItems: items, paidViaCardCents: status == "paid" ? amount - credits : 0,
            paidViaCreditsCents: credits, creditBalanceCents: balance)
    }

    private func nodeItem(_ cluster: Cluster, hours: Int64) -> LineItem {
        LineItem(
            description: "Node -- \(cluster.label) (per node hour)", unitPriceCents: cluster.nodeHourCents,
            quantity: WireAmount(hours, scale: 0), priceCents: hours * cluster.nodeHourCents, type: "node",
            parameters: .cluster(cluster))
    }

    /// Gigabytes with up to three decimals; the price is rounded half up to whole cents.
    private func bandwidthItem(_ cluster: Cluster, _ rng: inout SeededRandom) -> LineItem {
        let step = rng.element(of: [Int64(1_000), 100, 100, 10, 1])
        let milli = Int64(rng.below(400_000)) / step * step
        return LineItem(
            description: "Bandwidth -- \(cluster.label) (per GB)", unitPriceCents: cluster.bandwidthCentsPerGB,
            quantity: WireAmount(milli, scale: 3), priceCents: (milli * cluster.bandwidthCentsPerGB + 500) / 1_000,
            type: "bandwidth", parameters: .cluster(cluster))
    }

    /// `tsinv_` + 12 hex digits: a keyed 4-round Feistel permutation of the index, so ids
    /// look random yet map back to their invoice without any table.
    static func invoiceID(_ index: Int, seed: UInt64) -> String {
        var left = UInt64(index >> 24) & 0xFF_FFFF
        var right = UInt64(index) & 0xFF_FFFF
        for round in 0..<4 {
            (left, right) = (right, left ^ feistelRound(right, round, seed))
        }
        let hex = String(left << 24 | right, radix: 16)
        return "tsinv_" + String(repeating: "0", count: 12 - hex.count) + hex
    }

    static func invoiceIndex(id: String, seed: UInt64) -> Int? {
        let hex = id.utf8.dropFirst(6)
        guard id.hasPrefix("tsinv_"), hex.count == 12,
            hex.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
            let value = UInt64(id.dropFirst(6), radix: 16)
        else { return nil }
        var left = value >> 24
        var right = value & 0xFF_FFFF
        for round in (0..<4).reversed() {
            (left, right) = (right ^ feistelRound(left, round, seed), left)
        }
        return Int(left << 24 | right)
    }

    private static func feistelRound(_ half: UInt64, _ round: Int, _ seed: UInt64) -> UInt64 {
        var rng = SeededRandom(seed: seed, .typesenseInvoiceID, Int64(round), Int64(half))
        return rng.next() & 0xFF_FFFF
    }

    // MARK: Control and ground truth

    func account(named requested: String?) -> String? {
        ""
    }

    func statusOverride(_ requested: String) -> String? {
        requested.isEmpty ? nil : requested
    }

    func hasInvoice(id: String, now: Int64, changes: InvoiceChanges.Snapshot) -> Bool {
        guard let index = Self.invoiceIndex(id: id, seed: options.seed) else { return false }
        return index < layout(now: now, changes: changes).count
    }

    func truthInvoices(account: String, now: Int64, changes: InvoiceChanges.Snapshot, limit: Int)
        -> [TruthInvoice]
    {
        let layout = layout(now: now, changes: changes)
        return (0..<layout.count).reversed().prefix(limit).map { index in
            let invoice = invoice(index, layout: layout, changes: changes)
            let major = { (cents: Int64) in WireAmount(cents, scale: 2) }
            return TruthInvoice(
                id: invoice.id, number: String(invoice.number), status: invoice.status, currency: "USD",
                periodStart: invoice.periodStart, periodEnd: invoice.periodEnd, issued: invoice.invoiceDate,
                total: major(invoice.amountCents), subtotal: nil, creditsApplied: major(invoice.paidViaCreditsCents),
                lineItems: invoice.lineItems.map {
                    TruthLineItem(
                        type: $0.type, description: $0.description, quantity: $0.quantity,
                        unitPrice: major($0.unitPriceCents), amount: major($0.priceCents))
                })
        }
    }
}

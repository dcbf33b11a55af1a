import BillSyncSimulator
import BillSyncTestSupport
import Testing

/// The Northflank options for month-end accounting tests: invoices billed from usage, an
/// invoice offset, missing usage hours and usage spikes.
@Suite struct MonthEndTests {
    /// (group, field) of every invoice and usage price component, and its ground-truth line type.
    static let components: [(String, String, String)] = [
        ("paasUsage", "cpu", "cpu"), ("paasUsage", "memory", "memory"), ("paasUsage", "storage", "storage"),
        ("paasUsage", "gpu", "gpu"), ("byocUsage", "vcpu", "byoc-vcpu"), ("byocUsage", "memory", "byoc-memory"),
        ("byocUsage", "gpuMemory", "byoc-gpu-memory"), ("byocUsage", "cluster", "byoc-cluster"),
    ]
    static let september: Range<Int64> = 1_788_220_800..<1_790_812_800  // 2026-09
    static let october: Range<Int64> = 1_790_812_800..<fixedNow  // 2026-10
    static let fromUsage = fixedOptions { $0.invoicesFromUsage = true }

    static func basePath(_ account: String) -> String {
        account == "org" ? "/v1/billing" : "/v1/teams/\(account)/billing"
    }

    /// The invoice `id` as the invoice list serves it.
    static func invoice(_ client: LoopbackClient, _ account: String, _ id: String) throws -> JSON {
        let invoices = try client.northflankWalk(basePath(account) + "/invoices", perPage: 100).records
        return try #require(invoices.first { $0["id"]?.string == id }, "no invoice \(id)")
    }

    /// Every served usage hour of `period`, following cursors.
    static func usage(_ client: LoopbackClient, _ account: String, _ period: Range<Int64>, perPage: Int = 100)
        throws -> [JSON]
    {
        try client.northflankWalk(
            basePath(account) + "/usage", "startTime=\(period.lowerBound)&endTime=\(period.upperBound)",
            perPage: perPage
        ).records
    }

    /// Each price component of `hours`, added up exactly.
    static func sums(_ hours: [JSON]) -> [Exact] {
        components.map { group, field, _ in
            hours.map { $0[group]!["price"]![field]!.exact! }.reduce(.zero, +)
        }
    }

    static func amounts(_ invoice: JSON) -> [Exact] {
        components.map { group, field, _ in invoice[group]!["price"]![field]!.exact! }
    }

    /// 20% of `subTotal` rounded half up at 10^-6 cent, as `Exact` cents.
    static func tax(_ subTotal: Exact) throws -> Exact {
        let unit: Int128 = 1_000_000  // 10^-6 cent in Exact units of 10^-12
        try #require(subTotal.units % unit == 0)
        let micros = subTotal.units / unit
        return Exact(units: (2 * micros + 5) / 10 * unit)
    }

    /// `invoice` bills exactly `hours`, its totals add up and its tax is right.
    static func expectBills(_ invoice: JSON, _ hours: [JSON], taxed: Bool) throws {
        let billed = amounts(invoice)
        #expect(billed == sums(hours))
        let paas = invoice["paasUsage"]!["price"]!
        let byoc = invoice["byocUsage"]!["price"]!
        #expect(paas["total"]!.exact! == billed[0..<4].reduce(.zero, +))
        #expect(byoc["total"]!.exact! == billed[4..<8].reduce(.zero, +))
        let subTotal = invoice["subTotal"]!.exact!
        #expect(subTotal == billed.reduce(.zero, +))
        let tax = try taxed ? Self.tax(subTotal) : .zero
        #expect(invoice["total"]!.exact! == subTotal + tax)
    }

    @Test func invoicesBillExactlyTheServedUsageOfTheirPeriod() throws {
        try withSimulator(Self.fromUsage) { _, client in
            var sawUsagePrecision = false
            // 90 days of history start on 2026-08-03: August is billed from then on.
            let august: Range<Int64> = 1_785_542_400..<Self.september.lowerBound
            for (account, id, period, taxed) in [
                ("org", "nfinv_org_202609", Self.september, false),
                ("team-1", "nfinv_team-1_202610", Self.october, true),
                ("team-2", "nfinv_team-2_202608", august, false),
            ] {
                let invoice = try Self.invoice(client, account, id)
                let hours = try Self.usage(client, account, period, perPage: 97)
                #expect(hours.count == (account == "team-2" ? 29 * 24 : Int(period.count) / 3_600))
                try Self.expectBills(invoice, hours, taxed: taxed)
                #expect(Self.amounts(invoice)[0] != .zero)
                for (group, field, _) in Self.components {
                    let text = invoice[group]!["price"]![field]!.number!
                    let decimals = text.split(separator: ".").dropFirst().first?.count ?? 0
                    #expect(decimals <= 6)
                    sawUsagePrecision = sawUsagePrecision || decimals > 4
                }
            }
            #expect(sawUsagePrecision)
        }
    }

    @Test(arguments: [MoneyUnit.cents, .decimal])
    func truthAgreesWithInvoicesBilledFromUsage(_ unit: MoneyUnit) throws {
        let options = fixedOptions {
            $0.invoicesFromUsage = true
            $0.northflankMoney = unit
        }
        try withSimulator(options) { _, client in
            let served = try client.northflankWalk("/v1/teams/team-1/billing/invoices", perPage: 2).records
            let truth = try client.truth("invoices?provider=northflank&account=team-1")
            #expect(served.count == 3 && truth.count == 3)
            let major = { (json: JSON) in unit == .cents ? json.exact!.dividedByHundred : json.exact! }
            for (invoice, row) in zip(served, truth) {
                #expect(row["id"] == invoice["id"])
                #expect(row["total"]?.string == major(invoice["total"]!).moneyText)
                #expect(row["subtotal"]?.string == major(invoice["subTotal"]!).moneyText)
                let lines = Self.components.compactMap { group, field, type -> (String, String)? in
                    let amount = major(invoice[group]!["price"]![field]!)
                    return amount == .zero ? nil : (type, amount.moneyText)
                }
                let rows = row["line_items"]!.array
                #expect(rows.map { $0["type"]!.string! } == lines.map(\.0))
                #expect(rows.map { $0["amount"]!.string! } == lines.map(\.1))
            }
        }
    }

    @Test func theCurrentMonthsInvoiceBillsTheHoursSoFar() throws {
        let options = fixedOptions {
            $0.invoicesFromUsage = true
            $0.now = fixedNow + 10 * 3_600 + 1_800  // 2026-11-01T10:30Z
        }
        try withSimulator(options) { _, client in
            let added = try client.post("/_sim/invoices/northflank/new?account=team-1").json()
            #expect(added["ids"]?.array.map { $0.string! } == ["nfinv_team-1_202611"])
            let invoice = try Self.invoice(client, "team-1", "nfinv_team-1_202611")
            let hours = try Self.usage(client, "team-1", fixedNow..<fixedNow + 86_400)
            #expect(hours.count == 10)
            try Self.expectBills(invoice, hours, taxed: true)
        }
    }

    @Test func hiddenAndSpikedHoursAreBilledAsMetered() throws {
        let spikeHour = fixedNow - 20 * 86_400 + 13 * 3_600  // 2026-10-12T13:00Z
        let hidden = NorthflankMissingHours(account: "team-1", start: fixedNow - 25 * 86_400, count: 50)
        let plain = try withSimulator(Self.fromUsage) { _, client in
            (
                try Self.invoice(client, "team-1", "nfinv_team-1_202610"),
                try Self.usage(client, "team-1", Self.october)
            )
        }
        let spikeOnly = fixedOptions {
            $0.invoicesFromUsage = true
            $0.spikes = [NorthflankSpike(account: "team-1", hour: spikeHour, factor: 9)]
        }
        let spiked = try withSimulator(spikeOnly) { _, client in
            (
                try Self.invoice(client, "team-1", "nfinv_team-1_202610"),
                try Self.usage(client, "team-1", Self.october)
            )
        }
        var both = spikeOnly
        both.missingHours = [hidden]
        let (invoice, served) = try withSimulator(both) { _, client in
            (
                try Self.invoice(client, "team-1", "nfinv_team-1_202610"),
                try Self.usage(client, "team-1", Self.october)
            )
        }
        #expect(served.count == 744 - 50 && spiked.1.count == 744)
        // The spike is billed: 8 more times that hour than without it.
        let index = try #require(plain.1.firstIndex { $0["timestamp"]?.int == spikeHour })
        let hour = Self.sums([plain.1[index]])
        #expect(hour[0] != .zero)
        #expect(Self.amounts(spiked.0) == zip(Self.amounts(plain.0), hour).map { $0 + $1.times(8) })
        try Self.expectBills(spiked.0, spiked.1, taxed: true)
        // The hidden hours are billed although never served.
        #expect(invoice == spiked.0)
        #expect(Self.amounts(invoice) != Self.sums(served))
    }

    @Test func anOffsetShiftsOneInvoiceByExactlyThatMuch() throws {
        func lists(_ options: SimulatorOptions) throws -> [String: [JSON]] {
            try withSimulator(options) { _, client in
                var lists: [String: [JSON]] = [:]
                for account in ["org", "team-1", "team-2"] {
                    lists[account] = try client.northflankWalk(Self.basePath(account) + "/invoices", perPage: 100)
                        .records
                }
                return lists
            }
        }
        let before = try lists(fixedOptions())
        let after = try lists(fixedOptions { $0.invoiceOffsets = ["nfinv_org_202609": "12.5"] })
        #expect(before["team-1"] == after["team-1"] && before["team-2"] == after["team-2"])
        let shift = Exact("12.5")!
        for (old, new) in zip(before["org"]!, after["org"]!) where old["id"]?.string != "nfinv_org_202609" {
            #expect(old == new)
        }
        let old = try #require(before["org"]!.first { $0["id"]?.string == "nfinv_org_202609" })
        let new = try #require(after["org"]!.first { $0["id"]?.string == "nfinv_org_202609" })
        let oldAmounts = Self.amounts(old)
        #expect(Self.amounts(new) == [oldAmounts[0] + shift] + oldAmounts.dropFirst())
        for path in [["total"], ["subTotal"], ["paasUsage", "price", "total"]] {
            let value = { (invoice: JSON) in path.reduce(invoice) { $0[$1]! }.exact! }
            #expect(value(new) == value(old) + shift)
        }
        #expect(new["byocUsage"] == old["byocUsage"] && new["period"] == old["period"] && new["paid"] == old["paid"])
    }

    @Test func anOffsetOnAnInvoiceBilledFromUsageIsTheOnlyDisagreement() throws {
        let options = fixedOptions {
            $0.invoicesFromUsage = true
            $0.invoiceOffsets = ["nfinv_team-1_202610": "-0.000001"]
        }
        try withSimulator(options) { _, client in
            let offset = try Self.invoice(client, "team-1", "nfinv_team-1_202610")
            let october = try Self.usage(client, "team-1", Self.october)
            var expected = Self.sums(october)
            expected[0] = expected[0] - Exact("0.000001")!
            #expect(Self.amounts(offset) == expected)
            let subTotal = offset["subTotal"]!.exact!
            #expect(subTotal == expected.reduce(.zero, +))
            let tax = try Self.tax(subTotal)
            #expect(offset["total"]!.exact! == subTotal + tax)
            let september = try Self.invoice(client, "team-1", "nfinv_team-1_202609")
            try Self.expectBills(september, try Self.usage(client, "team-1", Self.september), taxed: true)
            let truth = try client.truth("invoices?provider=northflank&account=team-1")
            #expect(truth[0]["total"]?.string == offset["total"]!.exact!.dividedByHundred.moneyText)
        }
    }

    @Test func missingHoursAreNeverServed() throws {
        let hidden = [
            NorthflankMissingHours(account: "team-1", start: fixedNow - 40 * 3_600, count: 10),
            NorthflankMissingHours(account: "team-1", start: fixedNow - 33 * 3_600, count: 5),  // overlaps
            NorthflankMissingHours(account: "team-1", start: fixedNow - 3 * 3_600, count: 3),  // the newest hours
            NorthflankMissingHours(account: "team-1", start: fixedNow - 100 * 86_400, count: 5),  // before history
        ]
        let window = fixedNow - 50 * 3_600
        let isHidden = { (hour: Int64) in
            (fixedNow - 40 * 3_600..<fixedNow - 28 * 3_600).contains(hour) || hour >= fixedNow - 3 * 3_600
        }
        let all = try withSimulator(fixedOptions()) { _, client in
            try client.northflankWalk("/v1/teams/team-1/billing/usage", "startTime=\(window)", perPage: 100).records
        }
        #expect(all.count == 50)
        try withSimulator(fixedOptions { $0.missingHours = hidden }) { _, client in
            var pages: [[JSON]] = []
            var cursor: String?
            repeat {
                let query = "startTime=\(window)&per_page=7" + (cursor.map { "&cursor=\($0)" } ?? "")
                let json = try client.get("/v1/teams/team-1/billing/usage?\(query)", northflankAuth).json()
                pages.append(json["data"]!["usage"]!.array)
                #expect(json["pagination"]?["count"]?.int == Int64(pages.last!.count))
                cursor = json["pagination"]?["hasNextPage"]?.bool == true ? json["pagination"]?["cursor"]?.string : nil
            } while cursor != nil
            let present = all.filter { !isHidden($0["timestamp"]!.int!) }
            #expect(present.count == 35)
            #expect(pages.flatMap { $0 } == present)
            #expect(pages.map(\.count) == [7, 7, 7, 7, 7])
            let truth = try client.truth("usage?account=team-1&start=\(window)")
            #expect(truth.map { $0["hour"]!.int! } == present.map { $0["timestamp"]!.int! })
            // Other accounts keep every hour.
            let org = try client.northflankWalk("/v1/billing/usage", "startTime=\(window)", perPage: 100).records
            #expect(org.count == 50)
        }
    }

    @Test func aSpikeMultipliesOneHour() throws {
        let window = fixedNow - 100 * 3_600
        let (plain, plainTruth) = try withSimulator(fixedOptions()) { _, client in
            (
                try Self.usage(client, "org", window..<fixedNow),
                try client.truth("usage?account=org&start=\(window)")
            )
        }
        // The first hour with usage in every PaaS component.
        let index = try #require(
            plain.firstIndex { hour in
                ["cpu", "memory", "storage", "gpu"].allSatisfy { hour["paasUsage"]!["price"]![$0]!.number! != "0" }
            })
        let hour = plain[index]["timestamp"]!.int!
        let options = fixedOptions { $0.spikes = [NorthflankSpike(account: "org", hour: hour, factor: 3)] }
        try withSimulator(options) { _, client in
            let spiked = try Self.usage(client, "org", window..<fixedNow)
            #expect(spiked.count == plain.count)
            for (before, after) in zip(plain, spiked) where before["timestamp"]?.int != hour {
                #expect(before == after)
            }
            #expect(Self.sums([spiked[index]]) == Self.sums([plain[index]]).map { $0.times(3) })
            for group in ["paasUsage", "byocUsage"] {
                #expect(
                    spiked[index][group]!["price"]!["total"]!.exact!
                        == plain[index][group]!["price"]!["total"]!.exact!.times(3))
            }
            let truth = try client.truth("usage?account=org&start=\(window)")
            #expect(truth[index]["cpu"]!.exact! == plainTruth[index]["cpu"]!.exact!.times(3))
            #expect(truth[index]["total"]!.exact! == plainTruth[index]["total"]!.exact!.times(3))
            #expect(Array(truth.prefix(index)) == Array(plainTruth.prefix(index)))
        }
    }

    @Test func optionsOfOtherAccountsLeaveResponsesByteIdentical() throws {
        let targets = [
            "/v1/billing/invoices?per_page=100", "/v1/billing/usage?startTime=1793000000&per_page=100",
            "/_sim/truth/invoices?provider=northflank&account=org", "/_sim/truth/usage?account=org&start=1793300000",
        ]
        let bodies = { (options: SimulatorOptions) in
            try withSimulator(options) { _, client in
                try targets.map { try client.get($0, northflankAuth).body }
            }
        }
        let plain = try bodies(fixedOptions())
        let others = try bodies(
            fixedOptions {
                $0.invoiceOffsets = ["nfinv_team-2_202609": "1"]
                $0.missingHours = [NorthflankMissingHours(account: "team-2", start: 1_793_300_400, count: 24)]
                $0.spikes = [NorthflankSpike(account: "team-1", hour: 1_793_304_000, factor: 5)]
            })
        #expect(plain == others)
    }

    @Test func optionValuesAreParsedAndChecked() throws {
        let hours = try NorthflankMissingHours(parsing: "team-1:2026-09-10T00:00:00Z:3")
        #expect(hours == NorthflankMissingHours(account: "team-1", start: 1_788_998_400, count: 3))
        #expect(try NorthflankMissingHours(parsing: "org:1788998400:24").start == 1_788_998_400)
        let spike = try NorthflankSpike(parsing: "org:2026-10-15T12:00:00Z:10")
        #expect(spike == NorthflankSpike(account: "org", hour: 1_792_065_600, factor: 10))
        for text in ["team-1:2026-09-10T00:30:00Z:3", "team-1:2026-09-10:0", "team-1:soon:3", "team-1:5", ":3600:1"] {
            #expect(throws: SimulatorOptionError.self) { try NorthflankMissingHours(parsing: text) }
        }
        for text in ["org:3600:0", "org:3600:-2", "org:3600:1.5", "org:3601:2", "org:3600:2000000"] {
            #expect(throws: SimulatorOptionError.self) { try NorthflankSpike(parsing: text) }
        }
        #expect(fixedOptions().problem == nil)
        let good = fixedOptions {
            $0.invoiceOffsets = ["nfinv_org_202609": "12.5", "nfinv_team-2_202610": "-0.0001"]
            $0.missingHours = [hours]
            $0.spikes = [spike]
        }
        #expect(good.problem == nil)
        let problems: [(String, (inout SimulatorOptions) -> Void)] = [
            ("team-3", { $0.missingHours = [NorthflankMissingHours(account: "team-3", start: 0, count: 1)] }),
            ("team-3", { $0.spikes = [NorthflankSpike(account: "team-3", hour: 0, factor: 2)] }),
            ("whole hour", { $0.spikes = [NorthflankSpike(account: "org", hour: 60, factor: 2)] }),
            ("twice", { $0.spikes = Array(repeating: NorthflankSpike(account: "org", hour: 0, factor: 2), count: 2) }),
            ("12.5.1", { $0.invoiceOffsets = ["nfinv_org_202609": "12.5.1"] }),
            ("abc", { $0.invoiceOffsets = ["nfinv_org_202609": "abc"] }),
            ("0.00001", { $0.invoiceOffsets = ["nfinv_org_202609": "0.00001"] }),
            ("nfinv_team-3_202609", { $0.invoiceOffsets = ["nfinv_team-3_202609": "1"] }),
            ("inv_1", { $0.invoiceOffsets = ["inv_1": "1"] }),
        ]
        for (needle, configure) in problems {
            let problem = try #require(fixedOptions(configure).problem, "\(needle)")
            #expect(problem.contains(needle), "\(problem)")
        }
        // Usage precision is allowed once invoices carry it.
        let micro = fixedOptions {
            $0.invoicesFromUsage = true
            $0.invoiceOffsets = ["nfinv_org_202609": "0.00001"]
        }
        #expect(micro.problem == nil)
        var tooFine = micro
        tooFine.invoiceOffsets = ["nfinv_org_202609": "0.0000001"]
        #expect(tooFine.problem != nil)
    }
}

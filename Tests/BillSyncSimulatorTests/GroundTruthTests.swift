import BillSyncSimulator
import BillSyncTestSupport
import Testing

@Suite struct GroundTruthTests {
    static let northflankComponents: [(String, String, String)] = [
        ("paasUsage", "cpu", "cpu"), ("paasUsage", "memory", "memory"), ("paasUsage", "storage", "storage"),
        ("paasUsage", "gpu", "gpu"), ("byocUsage", "vcpu", "byoc-vcpu"), ("byocUsage", "memory", "byoc-memory"),
        ("byocUsage", "gpuMemory", "byoc-gpu-memory"), ("byocUsage", "cluster", "byoc-cluster"),
    ]

    @Test(arguments: [MoneyUnit.cents, .decimal])
    func northflankTruthEqualsServedAmountsExactly(_ unit: MoneyUnit) throws {
        try withSimulator(
            fixedOptions {
                $0.historyDays = 200
                $0.northflankMoney = unit
            }
        ) { _, client in
            for account in ["org", "team-1", "team-2"] {
                let path = account == "org" ? "/v1/billing/invoices" : "/v1/teams/\(account)/billing/invoices"
                let served = try client.northflankWalk(path, perPage: 3).records
                let truth = try client.truth("invoices?provider=northflank&account=\(account)")
                #expect(truth.count == served.count && truth.count == 7)
                let major = { (json: JSON) in unit == .cents ? json.exact!.dividedByHundred : json.exact! }
                for (invoice, row) in zip(served, truth) {
                    #expect(
                        row.keys == [
                            "id", "number", "status", "currency", "period_start", "period_end", "issued",
                            "total", "subtotal", "credits_applied", "line_items",
                        ])
                    #expect(row["id"] == invoice["id"])
                    #expect(row["number"]?.isNull == true)
                    #expect(row["status"]?.string == (invoice["paid"]!.bool! ? "paid" : "unpaid"))
                    #expect(row["currency"]?.string == "USD")
                    #expect(row["period_start"] == invoice["period"]!["start"])
                    #expect(row["period_end"] == invoice["period"]!["end"])
                    #expect(row["issued"] == invoice["period"]!["end"])
                    #expect(row["total"]?.string == major(invoice["total"]!).moneyText)
                    #expect(row["subtotal"]?.string == major(invoice["subTotal"]!).moneyText)
                    #expect(row["credits_applied"]?.string == "0.00")
                    let expectedLines = Self.northflankComponents.compactMap {
                        group, field, type -> (String, String)? in
                        let amount = major(invoice[group]!["price"]![field]!)
                        return amount == .zero ? nil : (type, amount.moneyText)
                    }
                    let lines = row["line_items"]!.array
                    #expect(lines.map { $0["type"]!.string! } == expectedLines.map(\.0))
                    #expect(lines.map { $0["amount"]!.string! } == expectedLines.map(\.1))
                    #expect(lines.allSatisfy { $0["description"] == $0["type"] && $0["unit_price"] == $0["amount"] })
                    #expect(lines.map { $0["amount"]!.exact! }.reduce(.zero, +) == row["subtotal"]!.exact!)
                    for money in [row["total"]!, row["subtotal"]!] + lines.map({ $0["amount"]! }) {
                        #expect(isMoneyText(money.string!), "\(money)")
                    }
                }
            }
        }
    }

    @Test func usageTruthEqualsServedHoursExactly() throws {
        try withSimulator(fixedOptions { $0.historyDays = 2 }) { _, client in
            let start = fixedNow - 30 * 3600
            let served = try client.northflankWalk(
                "/v1/teams/team-1/billing/usage", "startTime=\(start)&endTime=\(fixedNow - 3600)",
                perPage: 100
            ).records
            let truth = try client.truth("usage?account=team-1&start=\(start)&end=\(fixedNow - 3600)")
            #expect(served.count == 29 && truth.count == 29)
            let fields: [(String, String, String)] = [
                ("paas_total", "paasUsage", "total"), ("cpu", "paasUsage", "cpu"), ("memory", "paasUsage", "memory"),
                ("storage", "paasUsage", "storage"), ("gpu", "paasUsage", "gpu"), ("byoc_total", "byocUsage", "total"),
                ("byoc_vcpu", "byocUsage", "vcpu"), ("byoc_memory", "byocUsage", "memory"),
                ("byoc_gpu_memory", "byocUsage", "gpuMemory"), ("byoc_cluster", "byocUsage", "cluster"),
            ]
            for (entry, row) in zip(served, truth) {
                #expect(row.keys == ["hour", "total"] + fields.map(\.0))
                #expect(row["hour"] == entry["timestamp"])
                for (name, group, field) in fields {
                    #expect(row[name]?.string == entry[group]!["price"]![field]!.exact!.dividedByHundred.moneyText)
                    #expect(isMoneyText(row[name]!.string!))
                }
                #expect(row["total"]!.exact! == row["paas_total"]!.exact! + row["byoc_total"]!.exact!)
            }
            let whole = try client.truth("usage?account=org")
            #expect(whole.first?["hour"]?.int == fixedNow - 2 * 86_400 && whole.count == 48)
        }
    }

    @Test func typesenseTruthEqualsServedCentsExactly() throws {
        try withSimulator { _, client in
            let truth = try client.truth("invoices?provider=typesense")
            #expect(truth.count == 30)
            let list = try client.get("/api/v1/invoices?per_page=50", typesenseAuth).json()["invoices"]!.array
            for (summary, row) in zip(list, truth) {
                let detail = try client.get("/api/v1/invoices/\(summary["id"]!.string!)", typesenseAuth).json()
                #expect(row["id"] == detail["id"])
                #expect(row["number"]?.string == String(detail["number"]!.int!))
                #expect(row["status"] == detail["status"])
                #expect(row["period_start"] == detail["period_starts_at"])
                #expect(row["period_end"] == detail["period_ends_at"])
                #expect(row["issued"] == detail["invoice_date"])
                #expect(row["total"]?.string == detail["amount_cents"]!.exact!.dividedByHundred.moneyText)
                #expect(row["subtotal"]?.isNull == true)
                #expect(
                    row["credits_applied"]?.string
                        == detail["payment"]!["paid_via_credits_cents"]!.exact!.dividedByHundred.moneyText)
                let items = detail["line_items"]!.array
                let lines = row["line_items"]!.array
                #expect(lines.count == items.count)
                for (item, line) in zip(items, lines) {
                    #expect(line["type"] == item["line_item_type"])
                    #expect(line["description"] == item["description"])
                    #expect(line["quantity"]?.string == item["quantity"]?.number)
                    #expect(line["unit_price"]?.string == item["unit_price_cents"]!.exact!.dividedByHundred.moneyText)
                    #expect(line["amount"]?.string == item["price_cents"]!.exact!.dividedByHundred.moneyText)
                }
                let index = detail["number"]!.int! - 10_000
                let linesSum = lines.map { $0["amount"]!.exact! }.reduce(.zero, +)
                #expect(linesSum - row["total"]!.exact! == ((index + 1) % 7 == 0 ? Exact("1.00")! : .zero))
            }
        }
    }

    @Test func usageflowTruthEqualsServedAmounts() throws {
        try withSimulator { _, client in
            let served = try client.get("/api/invoices", usageflowAuth).json()["invoices"]!.array
            let truth = try client.truth("invoices?provider=usageflow")
            #expect(served.count == truth.count)
            for (invoice, row) in zip(served, truth) {
                #expect(row["id"] == invoice["id"] && row["status"] == invoice["status"])
                #expect(row["total"]?.string == invoice["amount"]!.exact!.moneyText)
                #expect(isMoneyText(row["total"]!.string!))
                #expect(row["line_items"]!.array.count == 1)
                #expect(row["line_items"]![0]!["type"]?.string == "usage")
                #expect(row["line_items"]![0]!["amount"] == row["total"])
                #expect(row["issued"] == row["period_end"])
            }
            #expect(truth[0]["period_start"]?.int == 1_790_812_800 && truth[0]["period_end"]?.int == fixedNow)
        }
    }

    @Test func rejectsUnknownProvidersAndAccounts() throws {
        try withSimulator { _, client throws in
            #expect(try client.get("/_sim/truth/invoices?provider=stripe").status == 404)
            #expect(try client.get("/_sim/truth/invoices?provider=northflank&account=team-9").status == 404)
            #expect(try client.get("/_sim/truth/usage?account=team-9").status == 404)
            #expect(try client.get("/_sim/truth/usage?start=yesterday").status == 400)
        }
    }
}

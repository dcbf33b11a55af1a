import BillSyncSimulator
import BillSyncTestSupport
import Glibc
import Testing

@Suite struct NorthflankTests {
    /// 400 days before 2026-11-01 is 2025-09-27: September 2025 to October 2026.
    static let longHistory = fixedOptions { $0.historyDays = 400 }

    @Test func invoicePagesCoverEveryMonthOnceNewestFirst() throws {
        try withSimulator(Self.longHistory) { _, client in
            for account in ["/v1/billing", "/v1/teams/team-1/billing", "/v1/teams/team-2/billing"] {
                let walk = try client.northflankWalk("\(account)/invoices", perPage: 5)
                #expect(walk.pages == 3)
                let ids = walk.records.map { $0["id"]!.string! }
                let name = account == "/v1/billing" ? "org" : account.split(separator: "/")[2]
                let expected = (0..<14).map { offset -> String in
                    let month = 2026 * 12 + 9 - offset  // October 2026 backwards
                    let text = "\(month / 12)\(month % 12 + 1 < 10 ? "0" : "")\(month % 12 + 1)"
                    return "nfinv_\(name)_\(text)"
                }
                #expect(ids == expected)
                #expect(walk.records.first?["period"]?["start"]?.int == 1_790_812_800)  // 2026-10-01
                #expect(walk.records.first?["period"]?["end"]?.int == fixedNow)
                #expect(walk.records.last?["period"]?["start"]?.int == 1_756_684_800)  // 2025-09-01
                for (newer, older) in zip(walk.records, walk.records.dropFirst()) {
                    #expect(older["period"]?["end"] == newer["period"]?["start"])
                }
                #expect(walk.records.map { $0["paid"]!.bool! } == [false] + Array(repeating: true, count: 13))
            }
        }
    }

    @Test func invoiceFieldsAddUpExactly() throws {
        try withSimulator(Self.longHistory) { _, client in
            var sawGPU = false
            var sawZeroGPU = false
            var sawFractional = false
            for (team, taxed, byoc) in [("org", false, true), ("team-1", true, true), ("team-2", false, false)] {
                let path = team == "org" ? "/v1/billing/invoices" : "/v1/teams/\(team)/billing/invoices"
                for invoice in try client.northflankWalk(path, perPage: 100).records {
                    #expect(
                        invoice.keys == [
                            "id", "period", "currency", "paasUsage", "byocUsage", "total", "subTotal", "paid",
                        ])
                    #expect(invoice["currency"]?.string == "usd")
                    let paas = invoice["paasUsage"]!["price"]!
                    let byocPrice = invoice["byocUsage"]!["price"]!
                    #expect(paas.keys == ["total", "cpu", "memory", "storage", "gpu"])
                    #expect(byocPrice.keys == ["total", "vcpu", "memory", "gpuMemory", "cluster"])
                    let paasTotal = paas["total"]!.exact!
                    #expect(paasTotal == ["cpu", "memory", "storage", "gpu"].map { paas[$0]!.exact! }.reduce(.zero, +))
                    let byocTotal = byocPrice["total"]!.exact!
                    #expect(
                        byocTotal
                            == ["vcpu", "memory", "gpuMemory", "cluster"].map { byocPrice[$0]!.exact! }.reduce(.zero, +)
                    )
                    #expect((byocTotal == .zero) == !byoc)
                    let subTotal = invoice["subTotal"]!.exact!
                    #expect(subTotal == paasTotal + byocTotal)
                    let total = invoice["total"]!.exact!
                    if taxed {
                        // 20% rounded half up to 4 fractional cent digits.
                        let tax = (total - subTotal).units
                        let exactTax = subTotal.units / 5
                        #expect(tax % 100_000_000 == 0)
                        #expect(abs(tax - exactTax) <= 50_000_000)
                    } else {
                        #expect(total == subTotal)
                    }
                    for field in [paas["cpu"]!, paas["memory"]!, invoice["total"]!] {
                        let decimals = field.number!.split(separator: ".").dropFirst().first?.count ?? 0
                        #expect(decimals <= 4)
                        sawFractional = sawFractional || decimals > 0
                    }
                    sawGPU = sawGPU || paas["gpu"]!.number! != "0"
                    sawZeroGPU = sawZeroGPU || paas["gpu"]!.number! == "0"
                }
            }
            #expect(sawGPU && sawZeroGPU && sawFractional)
        }
    }

    @Test func decimalMoneyServesMajorUnits() throws {
        let cents = try withSimulator(fixedOptions()) { _, client in
            try client.get("/v1/teams/team-1/billing/invoices", northflankAuth).json()["data"]!["invoices"]!.array
        }
        let decimal = try withSimulator(fixedOptions { $0.northflankMoney = .decimal }) { _, client in
            try client.get("/v1/teams/team-1/billing/invoices", northflankAuth).json()["data"]!["invoices"]!.array
        }
        #expect(cents.count == 3 && decimal.count == 3)
        for (c, d) in zip(cents, decimal) {
            #expect(d["total"]!.exact! == c["total"]!.exact!.dividedByHundred)
            #expect(
                d["paasUsage"]!["price"]!["cpu"]!.exact! == c["paasUsage"]!["price"]!["cpu"]!.exact!.dividedByHundred)
            #expect(
                d["byocUsage"]!["price"]!["cluster"]!.exact!
                    == c["byocUsage"]!["price"]!["cluster"]!.exact!.dividedByHundred)
        }
    }

    @Test func usagePagesCoverEveryWholeHourOnce() throws {
        // 10 days of history: from 2026-10-22T00:00Z to the last whole hour before now, 240 hours.
        try withSimulator(fixedOptions { $0.historyDays = 10 }) { _, client in
            let walk = try client.northflankWalk("/v1/teams/team-2/billing/usage", "startTime=0", perPage: 7)
            #expect(walk.pages == 35)
            let hours = walk.records.map { $0["timestamp"]!.int! }
            #expect(hours == Array(stride(from: fixedNow - 240 * 3600, to: fixedNow, by: 3600)))
            var zeroHours = 0
            for entry in walk.records {
                let paas = entry["paasUsage"]!["price"]!
                let byoc = entry["byocUsage"]!["price"]!
                #expect(
                    paas["total"]!.exact!
                        == ["cpu", "memory", "storage", "gpu"].map { paas[$0]!.exact! }.reduce(.zero, +))
                #expect(
                    byoc["total"]!.exact!
                        == ["vcpu", "memory", "gpuMemory", "cluster"].map { byoc[$0]!.exact! }.reduce(.zero, +))
                #expect(byoc["total"]!.number == "0", "team-2 runs no BYOC")
                #expect((paas["cpu"]!.number!.split(separator: ".").dropFirst().first?.count ?? 0) <= 6)
                if paas["total"]!.number == "0" { zeroHours += 1 }
            }
            #expect(zeroHours > 5 && zeroHours < 60)
        }
    }

    @Test func usageWindowIsHalfOpenAndStopsAtTheLastWholeHour() throws {
        // now at 10:30 on 2026-11-01: the last whole hour starts at 09:00.
        let options = fixedOptions {
            $0.now = fixedNow + 10 * 3600 + 1800
            $0.historyDays = 1
        }
        try withSimulator(options) { _, client in
            let start = fixedNow + 3600 + 1  // not on an hour: the first hour is 02:00
            let window = try client.northflankWalk(
                "/v1/billing/usage", "startTime=\(start)&endTime=\(fixedNow + 5 * 3600)",
                perPage: 100)
            #expect(window.records.map { $0["timestamp"]!.int! } == [2, 3, 4].map { fixedNow + $0 * 3600 })
            let open = try client.northflankWalk("/v1/billing/usage", "startTime=\(fixedNow)", perPage: 100)
            #expect(open.records.map { $0["timestamp"]!.int! } == (0...9).map { fixedNow + $0 * 3600 })
            let all = try client.northflankWalk("/v1/billing/usage", "startTime=0", perPage: 100)
            #expect(all.records.first?["timestamp"]?.int == fixedNow - 86_400)
            #expect(all.records.count == 24 + 10)
        }
    }

    @Test func withoutAFixedNowTheRealClockBoundsTheData() throws {
        var options = SimulatorOptions()
        options.historyDays = 1
        try withSimulator(options) { _, client in
            let before = Int64(time(nil))
            let usage = try client.northflankWalk("/v1/billing/usage", "startTime=0", perPage: 100).records
            let after = Int64(time(nil))
            let last = try #require(usage.last?["timestamp"]?.int)
            #expect([before / 3600 * 3600 - 3600, after / 3600 * 3600 - 3600].contains(last))
            let invoices = try client.get("/v1/billing/invoices", northflankAuth).json()["data"]!["invoices"]!.array
            #expect(invoices.count <= 1)
            #expect(invoices.allSatisfy { $0["period"]!["end"]!.int! <= after })
        }
    }

    @Test func longHistoriesAreServedWithoutGeneratingThemWhole() throws {
        // A century of hours: ~877,000 per account, generated lazily per page.
        try withSimulator(
            fixedOptions {
                $0.historyDays = 36_525
                $0.teams = 50
            }
        ) { _, client in
            let started = monotonicSeconds()
            let first = try client.get("/v1/teams/team-50/billing/usage?startTime=0&per_page=100", northflankAuth)
                .json()
            #expect(first["data"]!["usage"]!.array.count == 100)
            let cursor = first["pagination"]!["cursor"]!.string!
            let second = try client.get(
                "/v1/teams/team-50/billing/usage?startTime=0&per_page=100&cursor=\(cursor)",
                northflankAuth
            ).json()
            #expect(
                second["data"]!["usage"]![0]!["timestamp"]!.int == first["data"]!["usage"]![99]!["timestamp"]!.int!
                    + 3600)
            let last = try client.get("/v1/teams/team-50/billing/usage?startTime=\(fixedNow - 7200)", northflankAuth)
                .json()
            #expect(last["data"]!["usage"]!.array.map { $0["timestamp"]!.int! } == [fixedNow - 7200, fixedNow - 3600])
            let invoices = try client.northflankWalk("/v1/teams/team-50/billing/invoices", perPage: 100)
            #expect(invoices.records.count == 1_200)
            #expect(monotonicSeconds() - started < 10)
        }
    }

    @Test func rejectsWhatTheRealAPIRejects() throws {
        try withSimulator { _, client in
            let unauthenticated = #"{"error":{"status":401,"message":"Unauthenticated"}}"#
            #expect(try client.get("/v1/billing/invoices").text == unauthenticated)
            let wrong = try client.get("/v1/billing/invoices", ["Authorization": "Bearer nope"])
            #expect(wrong.status == 401 && wrong.text == unauthenticated)
            let unknownTeam = try client.get("/v1/teams/team-3/billing/invoices", northflankAuth)
            #expect(unknownTeam.status == 404)
            #expect(unknownTeam.text == #"{"error":{"status":404,"message":"Team not found"}}"#)
            let tooMany = try client.get("/v1/billing/invoices?per_page=101", northflankAuth)
            #expect(tooMany.status == 400)
            #expect(tooMany.text == #"{"error":{"status":400,"message":"per_page must be at most 100"}}"#)
            #expect(try client.get("/v1/billing/invoices?cursor=%%%", northflankAuth).status == 400)
            // A usage cursor.
            #expect(try client.get("/v1/billing/invoices?cursor=dToxMjM", northflankAuth).status == 400)
            #expect(try client.get("/v1/billing/usage", northflankAuth).status == 400)
            #expect(try client.get("/v1/billing/usage?startTime=abc", northflankAuth).status == 400)
            #expect(try client.get("/v1/billing/usage?startTime=10&endTime=5", northflankAuth).status == 400)
            #expect(try client.get("/v1/billing/other", northflankAuth).status == 404)
            #expect(try client.send("POST", "/v1/billing/invoices", northflankAuth).status == 405)
        }
    }

    @Test func everyResponseCarriesRateLimitHeaders() throws {
        try withSimulator { _, client in
            let first = try client.get("/v1/billing/invoices", northflankAuth)
            #expect(first.headers["x-ratelimit-limit"] == "1000")
            #expect(first.headers["x-ratelimit-remaining"] == "999")
            #expect(first.headers["x-ratelimit-reset"] == "3600")
            let second = try client.get("/v1/teams/team-1/billing/usage?startTime=0", northflankAuth)
            #expect(second.headers["x-ratelimit-remaining"] == "998")
            let refused = try client.get("/v1/billing/invoices")
            #expect(refused.status == 401)
            #expect(refused.headers["x-ratelimit-limit"] == "1000")
            #expect(refused.headers["x-ratelimit-remaining"] != nil && refused.headers["x-ratelimit-reset"] != nil)
            #expect(first.headers["content-type"] == "application/json")
        }
    }
}

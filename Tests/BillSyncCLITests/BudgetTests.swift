import BillSyncCore
import BillSyncSimulator
import BillSyncTestSupport
import Foundation
import Testing

/// Budgets and spikes over real loopback HTTP, in the middle of a month not invoiced yet.
@Suite struct BudgetTests {
    static let now: Int64 = 1_794_749_400  // 2026-11-15T13:30:00Z
    static let spikeHour: Int64 = 1_794_650_400  // 2026-11-14T10:00:00Z

    /// Sixty days of usage billed exactly by the invoices, with the org's `spikeHour` ten
    /// times its usual usage; the simulator's clock at `now` (also for the alert tests).
    static func spikedSimulator() throws -> SimHarness {
        try SimHarness {
            $0.now = now
            $0.historyDays = 60
            $0.invoicesFromUsage = true
            $0.spikes = [NorthflankSpike(account: "org", hour: spikeHour, factor: 10)]
        }
    }

    /// The org's Northflank source from October, and a 500.00 USD budget over it.
    static func orgBudget(_ ws: Workspace, thresholds: String) -> String {
        ws.northflankSources([("nf-org", nil)], usageStart: "2026-10-01") + """
            [[budgets]]
            name = "northflank"
            sources = ["nf-org"]
            monthly = "500.00"
            currency = "USD"
            thresholds = [\(thresholds)]
            """
    }

    @Test func eachThresholdAndTheSpikeAreReportedOnceAcrossSyncsAndRestarts() throws {
        let sim = try Self.spikedSimulator()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig(
            sources: Self.orgBudget(ws, thresholds: "0.8, 1.0, 5"), extra: "metrics_file = \"\(ws.root)/billsync.prom\""
        )
        let env = ["BILLSYNC_NOW": String(Self.now)]
        let first = try ws.billsync(["sync"], env: env)
        #expect(first.status == 0, "\(first.stderr)")
        // Month to date: November's usage (no invoice yet), exactly the accruals' sum.
        var monthToDate = ExactDecimal.zero
        for row in try ws.csv("accruals.csv") { monthToDate += decimal(row["amount"]!) }
        #expect(decimal("500.00") < monthToDate)
        let forecast = monthToDate.scaled(by: 720, over: 349, decimals: 2)  // 720 hours, 349 gone
        let crossed = first.stderr.split(separator: "\n").filter { $0.contains("event=budget.threshold") }
        #expect(crossed.count == 2, "\(crossed)")
        for (line, threshold) in zip(crossed, ["0.80", "1.00"]) {
            let fields = parseLogfmt(String(line)) ?? [:]
            #expect(fields["budget"] == "northflank")
            #expect(fields["threshold"] == threshold)
            #expect(fields["month"] == "2026-11")
            #expect(fields["month_to_date"] == monthToDate.description)
            #expect(fields["forecast"] == forecast.description)
            #expect(fields["currency"] == "USD")
        }
        // The spike hour, ten times its usual self, and no other.
        let spikes = first.stderr.split(separator: "\n").filter { $0.contains("event=usage.spike") }
        #expect(spikes.count == 1, "\(spikes)")
        let spike = parseLogfmt(String(spikes.first ?? "")) ?? [:]
        #expect(spike["hour"] == "2026-11-14T10:00:00Z")
        #expect(spike["source"] == "nf-org")
        let truth = try sim.json("/_sim/truth/usage?account=org&start=\(Self.spikeHour)&end=\(Self.spikeHour + 3_600)")
        #expect(spike["amount"] == decimal(try truth.array()[0].require("total").string()).description)

        // The next sync, another process (a restart), reports none of them again.
        let second = try ws.billsync(["sync"], env: env)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(!second.stderr.contains("event=budget.threshold"), "\(second.stderr)")
        #expect(!second.stderr.contains("event=usage.spike"), "\(second.stderr)")

        let status = try ws.billsync(["status"], env: env)
        #expect(
            status.stdout.contains(
                "budget northflank (2026-11): \(monthToDate) of 500.00 USD month to date "
                    + "(\(monthToDate.percent(of: decimal("500.00")).formatted(minimumDecimals: 1)) %), forecast \(forecast)"
            ), "\(status.stdout)")
        // The same figures as metrics (metrics_file), which promtool accepts.
        let prom = try String(contentsOfFile: ws.root + "/billsync.prom", encoding: .utf8)
        let labels = "{budget=\"northflank\",currency=\"USD\"}"
        #expect(prom.contains("billsync_budget_amount\(labels) 500.0\n"), "\(prom)")
        #expect(prom.contains("billsync_budget_month_to_date\(labels) \(Double(monthToDate.description)!)\n"))
        #expect(prom.contains("billsync_budget_forecast\(labels) \(Double(forecast.description)!)\n"))
        let promtool = try runProcess(
            "/bin/sh",
            [
                "-c", "\"$0\" check metrics < \"$1\"",
                try #require(AccountingExportTests.which("promtool"), "promtool is not installed"),
                ws.root + "/billsync.prom",
            ])
        #expect(promtool.status == 0, "\(promtool.stdout)\(promtool.stderr)")
        let json = try ws.billsync(["status", "--json"], env: env)
        #expect(
            json.stdout.contains(
                "\"budgets\":[{\"name\":\"northflank\",\"month\":\"2026-11\",\"currency\":\"USD\",\"monthly\":\"500.00\","
                    + "\"month_to_date\":\"\(monthToDate)\",\"forecast\":\"\(forecast)\"}]"), "\(json.stdout)")
    }

    @Test func budgetsAreCheckedInTheConfig() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        for (budget, message) in [
            ("name = \"b\"\nsources = [\"nope\"]\nmonthly = \"1.00\"\ncurrency = \"USD\"", "no source named \"nope\""),
            (
                "name = \"b\"\nvendor = \"Northflank\"\nmonthly = 1.5\ncurrency = \"USD\"",
                "write the amount as a string"
            ),
            (
                "name = \"b\"\nsources = [\"nf-org\"]\nvendor = \"Northflank\"\nmonthly = \"1\"\ncurrency = \"USD\"",
                "set one of sources"
            ),
            ("name = \"b\"\nvendor = \"Northflank\"\nmonthly = \"1\"\ncurrency = \"dollars\"", "three-letter"),
        ] {
            try ws.writeConfig(sources: ws.standardSources + "\n\n[[budgets]]\n" + budget)
            let check = try ws.billsync(["check"])
            #expect(check.status == 2, "\(budget)")
            #expect(check.stderr.contains(message), "\(check.stderr)")
            #expect(check.stderr.contains("budgets[0]."), "\(check.stderr)")
        }
    }
}

import BillSyncCore
import BillSyncSimulator
import BillSyncTestSupport
import Foundation
import Testing

/// Month-end accruals over real loopback HTTP: the simulator's Northflank invoices are exactly
/// the sum of its usage, and the current month (November 2026, half gone) has no invoice yet.
@Suite struct AccrualTests {
    static let now: Int64 = 1_794_749_400  // 2026-11-15T13:30:00Z
    static let november: Int64 = 1_793_491_200  // 2026-11-01T00:00:00Z
    static let lastHour: Int64 = 1_794_744_000  // 2026-11-15T12:00:00Z, the last whole hour

    func workspace() throws -> (SimHarness, Workspace) {
        let sim = try SimHarness {
            $0.now = Self.now
            $0.historyDays = 60
            $0.invoicesFromUsage = true
        }
        let ws = try Workspace(sim: sim)
        let sources = ws.northflankSources([("nf-org", nil), ("nf-team", "team-1")], usageStart: "2026-10-01")
        try ws.writeConfig(sources: sources)
        var text = try String(contentsOfFile: ws.configPath, encoding: .utf8)
        text = text.replacingOccurrences(
            of: "exports = [\"csv\"]", with: "exports = [\"csv\", \"ledger\", \"beancount\"]")
        try text.write(toFile: ws.configPath, atomically: true, encoding: .utf8)
        return (sim, ws)
    }

    func sync(_ ws: Workspace) throws {
        let run = try ws.billsync(["sync"], env: ["BILLSYNC_NOW": String(Self.now)])
        #expect(run.status == 0, "\(run.stderr)")
    }

    /// The simulator's usage of `account` in `[from, to)`, added up per CSV column.
    func truthUsage(_ sim: SimHarness, account: String, from: Int64, to: Int64) throws -> [String: ExactDecimal] {
        var sums: [String: ExactDecimal] = [:]
        var hours = 0
        for hour in try sim.json("/_sim/truth/usage?account=\(account)&start=\(from)&end=\(to)").array() {
            hours += 1
            for column in [
                "cpu", "memory", "storage", "gpu", "byoc_vcpu", "byoc_memory", "byoc_gpu_memory", "byoc_cluster",
            ] {
                sums[column.replacingOccurrences(of: "_", with: "-"), default: .zero] +=
                    decimal(try hour.require(column).string())
            }
        }
        #expect(hours == Int((to - from) / 3_600))
        return sums.filter { !$0.value.isZero }
    }

    func tool(_ name: String) throws -> String {
        try #require(AccountingExportTests.which(name), "\(name) is not installed (scripts/install-deps installs it)")
    }

    /// `hledger bal ACCOUNT -O csv` (flat, no total): account → amount text.
    func hledgerBalance(_ ws: Workspace, _ args: [String]) throws -> [String: String] {
        let r = try runProcess(
            try tool("hledger"), ["-f", ws.exportDir + "/billsync.journal", "bal", "-O", "csv", "-N", "--flat"] + args)
        #expect(r.status == 0, "\(r.stderr)")
        var out: [String: String] = [:]
        for row in CSV.records(r.stdout.replacingOccurrences(of: "\n", with: "\r\n")) {
            out[row["account"] ?? ""] = row["balance"]
        }
        return out
    }

    func checkTools(_ ws: Workspace) throws {
        let journal = ws.exportDir + "/billsync.journal"
        let hledger = try runProcess(try tool("hledger"), ["-f", journal, "check", "-s", "ordereddates", "payees"])
        #expect(hledger.status == 0 && hledger.stderr.isEmpty, "\(hledger.stderr)")
        let ledger = try runProcess(try tool("ledger"), ["-f", journal, "--pedantic", "bal"])
        #expect(ledger.status == 0 && ledger.stderr.isEmpty, "\(ledger.stderr)")
        let bean = try runProcess(try tool("bean-check"), [ws.exportDir + "/billsync.beancount"])
        #expect(bean.status == 0 && bean.stdout.isEmpty && bean.stderr.isEmpty, "\(bean.stdout)\(bean.stderr)")
    }

    @Test func theMonthNotYetInvoicedIsAccruedExactlyAndReversedOnceItsInvoiceArrives() throws {
        let (sim, ws) = try workspace()
        try sync(ws)
        let rows = try ws.csv("accruals.csv")
        for (source, account) in [("nf-org", "org"), ("nf-team", "team-1")] {
            let expected = try truthUsage(sim, account: account, from: Self.november, to: Self.lastHour + 3_600)
            let mine = rows.filter { $0["source"] == source }
            // Only November: October and before are invoiced.
            #expect(Set(mine.map { $0["month"]! }) == ["2026-11"])
            #expect(
                Dictionary(uniqueKeysWithValues: mine.map { ($0["line_type"]!, decimal($0["amount"]!)) }) == expected)
            for row in mine {
                #expect(row["provider"] == "northflank")
                #expect(row["currency"] == "USD")
                #expect(row["hours"] == "349")
                #expect(row["first_hour_utc"] == "2026-11-01 00:00:00")
                #expect(row["last_hour_utc"] == "2026-11-15 12:00:00")
                #expect(row["status"] == "accrued")
            }
        }
        // The journal: each source's accrual on 2026-11-30 and its reversal on 2026-12-01, pending.
        let journal = try ws.read("billsync.journal")
        #expect(journal.contains("2026-11-30 ! (accrual-2026-11) Northflank\n    ; source: nf-org\n"))
        #expect(journal.contains("2026-12-01 ! (accrual-2026-11) Northflank\n    ; source: nf-team\n"))
        let orgTruth = try truthUsage(sim, account: "org", from: Self.november, to: Self.lastHour + 3_600)
        let teamTruth = try truthUsage(sim, account: "team-1", from: Self.november, to: Self.lastHour + 3_600)
        let accrued = (orgTruth.values.reduce(.zero, +) + teamTruth.values.reduce(.zero, +))
        // At the month's end the liability is the whole accrued usage; after the reversal, nothing.
        let monthEnd = try hledgerBalance(ws, ["Liabilities:Accrued", "-e", "2026-12-01"])
        #expect(monthEnd.keys.sorted() == ["Liabilities:Accrued:Northflank"])
        #expect(
            monthEnd["Liabilities:Accrued:Northflank"].map { decimal($0.replacingOccurrences(of: " USD", with: "")) }
                == .zero - accrued)
        // The accrual postings of 2026-11-30, per component, are the simulator's usage exactly.
        let accruedExpenses = try hledgerBalance(
            ws, ["Expenses:Cloud:Northflank", "-b", "2026-11-30", "-e", "2026-12-01"])
        var expected: [String: ExactDecimal] = [:]
        for (lineType, amount) in orgTruth.merging(teamTruth, uniquingKeysWith: +) {
            // byoc-gpu-memory → ByocGpuMemory, as the journal names accounts
            let segment = lineType.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
            expected["Expenses:Cloud:Northflank:" + segment] = amount
        }
        #expect(expected.count == 8)
        // hledger pads amounts to the commodity's precision: compare the numbers
        #expect(accruedExpenses.mapValues { decimal($0.replacingOccurrences(of: " USD", with: "")) } == expected)
        try checkTools(ws)

        // The simulator issues November's invoice for the org (the sum of its usage so far).
        try sim.post("/_sim/invoices/northflank/new?account=org&count=1")
        try sync(ws)
        let after = try ws.csv("accruals.csv")
        #expect(after.filter { $0["source"] == "nf-org" }.allSatisfy { $0["status"] == "reversed" })
        #expect(after.filter { $0["source"] == "nf-team" }.allSatisfy { $0["status"] == "accrued" })
        #expect(after.count == rows.count)
        let reversedJournal = try ws.read("billsync.journal")
        #expect(reversedJournal.contains("2026-11-30 * (accrual-2026-11) Northflank\n    ; source: nf-org\n"))
        #expect(reversedJournal.contains("2026-11-30 ! (accrual-2026-11) Northflank\n    ; source: nf-team\n"))
        #expect(try hledgerBalance(ws, ["Liabilities:Accrued"]).isEmpty)
        // The invoice posts on its own date with the same amounts the accrual held.
        #expect(reversedJournal.contains("2026-12-01 ! (nfinv_org_202611) Northflank"))
        try checkTools(ws)
    }

    @Test func aBackfillOfInvoicedMonthsAccruesNothingButTheCurrentMonth() throws {
        let (_, ws) = try workspace()
        try sync(ws)
        try sync(ws)
        let months = Set(try ws.csv("accruals.csv").map { $0["month"]! })
        #expect(months == ["2026-11"])
        let status = try ws.billsync(["status", "--json"], env: ["BILLSYNC_NOW": String(Self.now)])
        #expect(status.status == 0, "\(status.stderr)")
    }
}

import BillSyncCore
import BillSyncSimulator
import BillSyncTestSupport
import Foundation
import Testing

/// `billsync reconcile` over a store synced from the simulator, whose Northflank invoices are
/// exactly the sum of its usage but for what a test makes differ.
@Suite struct ReconcileCommandTests {
    static let october10: Int64 = 1_791_590_400  // 2026-10-10T00:00:00Z

    func synced(sync: Bool = true, _ configure: @escaping (inout SimulatorOptions) -> Void) throws
        -> (SimHarness, Workspace)
    {
        let sim = try SimHarness {
            $0.historyDays = 100
            $0.invoicesFromUsage = true
            configure(&$0)
        }
        let ws = try Workspace(sim: sim)
        let sources = ws.northflankSources([("nf-org", nil), ("nf-team", "team-1")], usageStart: "2026-08-01")
        try ws.writeConfig(sources: sources)
        if sync {
            let run = try ws.billsync(["sync"])
            #expect(run.status == 0, "\(run.stderr)")
        }
        return (sim, ws)
    }

    /// The simulator's cpu line of an invoice, and the sum of its served cpu usage over the period.
    func cpu(_ sim: SimHarness, account: String, invoice: String) throws -> (invoiced: ExactDecimal, used: ExactDecimal)
    {
        let truth = try sim.json("/_sim/truth/invoices?provider=northflank&account=\(account)").array()
        let inv = try #require(try truth.first { try $0.require("id").text() == invoice })
        let line = try #require(try inv.require("line_items").array().first { try $0.require("type").text() == "cpu" })
        let start = try inv.require("period_start").int64()
        let end = try inv.require("period_end").int64()
        var used = ExactDecimal.zero
        for hour in try sim.json("/_sim/truth/usage?account=\(account)&start=\(start)&end=\(end)").array() {
            used += decimal(try hour.require("cpu").string())
        }
        return (decimal(try line.require("amount").string()), used)
    }

    @Test func namesExactlyTheMismatchedInvoiceAndTheIncompleteMonth() throws {
        let (sim, ws) = try synced {
            $0.invoiceOffsets = ["nfinv_org_202609": "12.5"]
            $0.missingHours = [NorthflankMissingHours(account: "team-1", start: Self.october10, count: 5)]
        }
        let run = try ws.billsync(["reconcile"])
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        let failing = run.stdout.split(separator: "\n").filter { !$0.contains(" checks of ") }
        let cpu = try cpu(sim, account: "org", invoice: "nfinv_org_202609")
        #expect(cpu.invoiced - cpu.used == decimal("0.125"))
        // One mismatch: the org's September cpu, 12.5 cents more than its usage.
        let mismatches = failing.filter { $0.hasPrefix("MISMATCH") }
        #expect(
            mismatches == [
                "MISMATCH nf-org nfinv_org_202609 (2026-09-01 to 2026-10-01) usage:cpu: expected \(cpu.invoiced) USD, "
                    + "actual \(cpu.used), difference -0.125"
            ])
        // One incomplete month: the team's October, every component, its five missing hours named.
        let incomplete = failing.filter { $0.hasPrefix("INCOMPLETE") }
        #expect(incomplete.count == 8)
        #expect(
            incomplete.allSatisfy {
                $0.hasPrefix("INCOMPLETE nf-team nfinv_team-1_202610 (2026-10-01 to 2026-11-01) usage:")
                    && $0.hasSuffix("; 5 hours missing: 2026-10-10T00:00Z+5h")
            }, "\(incomplete)")
        #expect(failing.count == 9, "\(failing)")
        // The log has one reconcile.mismatch per finding.
        let logged = run.stderr.split(separator: "\n").filter { $0.contains("event=reconcile.mismatch") }
        #expect(logged.count == 9)
        #expect(logged.contains { $0.contains("invoice=nfinv_org_202609") && $0.contains("difference=-0.125") })
        // reconciliation.csv, written with the sync, holds the same findings.
        let csv = try ws.csv("reconciliation.csv")
        let rows = csv.filter { $0["status"] != "ok" }
        #expect(rows.count == 9)
        #expect(
            rows.contains {
                $0["invoice_id"] == "nfinv_org_202609" && $0["check"] == "usage:cpu" && $0["status"] == "mismatch"
                    && $0["difference"] == "-0.125"
            })
        // A filter to one source and month leaves only what is in it.
        let october = try ws.billsync(["reconcile", "--month", "2026-09", "--source", "nf-team"])
        #expect(october.status == 0, "\(october.stdout)")
        // Usage errors exit 2.
        #expect(try ws.billsync(["reconcile", "--month", "2026-9"]).status == 2)
        #expect(try ws.billsync(["reconcile", "--source", "nope"]).status == 2)
    }

    /// A sync that stops halfway through the usage leaves periods incomplete; the next one
    /// completes them, and `reconciliation.csv` follows although no invoice changed.
    @Test func theReportFollowsUsageThatArrivesLater() throws {
        let (sim, ws) = try synced(sync: false) { _ in }
        // Every attempt (retry_max_attempts = 4) at one usage page fails: the source stops there.
        try sim.fault("path=/v1/teams/team-1/billing/usage&kind=status&code=500&count=4&after=10")
        let failed = try ws.billsync(["sync"])
        #expect(failed.status == 1, "\(failed.stderr)")
        #expect(try ws.csv("reconciliation.csv").contains { $0["status"] == "incomplete" })
        let run = try ws.billsync(["sync"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try ws.csv("reconciliation.csv").allSatisfy { $0["status"] == "ok" })
    }

    /// Typesense Cloud's list says how many invoices it holds; a store that lost one says so.
    @Test func theTypesenseListTotalIsCheckedAgainstTheInvoicesStored() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig()
        #expect(try ws.billsync(["sync"]).status == 0)
        let truth = try sim.json("/_sim/truth/invoices?provider=typesense").array()
        let row = try #require(try ws.csv("reconciliation.csv").first { $0["check"] == "list-total" })
        #expect(row["source"] == "typesense")
        #expect(row["expected"] == "\(truth.count)")
        #expect(row["actual"] == "\(truth.count)")
        #expect(row["status"] == "ok")
        let lost = try truth[3].require("id").text()
        let sqlite = try runProcess(
            "/usr/bin/sqlite3",
            [
                ws.stateDir + "/billsync.sqlite3",
                "DELETE FROM invoices WHERE source = 'typesense' AND invoice_id = '\(lost)'",
            ])
        #expect(sqlite.status == 0, "\(sqlite.stderr)")
        let run = try ws.billsync(["reconcile", "--source", "typesense"])
        #expect(run.status == 1)
        #expect(
            run.stdout.split(separator: "\n").filter { $0.hasPrefix("MISMATCH") }.map { $0.split(separator: ":").last! }
                == [" expected \(truth.count), actual \(truth.count - 1), difference -1"], "\(run.stdout)")
    }

    @Test func aStoreWhereEverythingMatchesReconcilesCleanly() throws {
        let (_, ws) = try synced { _ in }
        let run = try ws.billsync(["reconcile"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        // August, September and October, per source, are checked against their usage.
        #expect(run.stdout.hasSuffix(" mismatch, 0 incomplete\n"), "\(run.stdout)")
        #expect(run.stdout.contains(" 0 mismatch"))
        let csv = try ws.csv("reconciliation.csv")
        #expect(csv.allSatisfy { $0["status"] == "ok" })
        #expect(csv.filter { $0["check"].map { $0.hasPrefix("usage:") } ?? false }.count == 3 * 2 * 8)
    }
}

import BillSyncCore
import BillSyncTestSupport
import Foundation
import Testing

/// Fields the providers' docs do not promise, left out by the simulator over loopback HTTP:
/// each is filled with the fallback in the README's field table, logged once, counted in
/// `status`, and never invents money.
@Suite struct ProviderFallbackTests {
    func northflankTeam(_ ws: Workspace) throws {
        let block = ws.standardSources.components(separatedBy: "[[sources]]").first {
            $0.contains("name = \"nf-team\"")
        }!
        try ws.writeConfig(sources: "[[sources]]" + block)
        let text = try String(contentsOfFile: ws.configPath, encoding: .utf8)
            .replacingOccurrences(of: "exports = [\"csv\"]", with: "exports = [\"csv\", \"ledger\", \"beancount\"]")
        try text.write(toFile: ws.configPath, atomically: true, encoding: .utf8)
    }

    func events(_ r: ProcessResult, _ event: String) -> [[String: String]] {
        r.stderr.split(separator: "\n").compactMap { parseLogfmt(String($0)) }.filter { $0["event"] == event }
    }

    func truth(_ sim: SimHarness) throws -> [(id: String, paid: Bool)] {
        try sim.json("/_sim/truth/invoices?provider=northflank&account=team-1").array()
            .map { (try $0.require("id").text(), try $0.require("status").text() == "paid") }
    }

    /// hledger, ledger and bean-check accept the journals without a word.
    func expectToolsAccept(_ ws: Workspace) throws {
        let journal = ws.exportDir + "/billsync.journal"
        for (tool, args) in [
            ("hledger", ["-f", journal, "check", "-s", "ordereddates", "payees"]),
            ("ledger", ["-f", journal, "--pedantic", "bal"]),
            ("bean-check", [ws.exportDir + "/billsync.beancount"]),
        ] {
            let path = try #require(
                AccountingExportTests.which(tool), "\(tool) is not installed (scripts/install-deps)")
            let r = try runProcess(path, args)
            #expect(
                r.status == 0 && r.stderr.isEmpty && (tool == "ledger" || r.stdout.isEmpty),
                "\(tool): \(r.stdout)\(r.stderr)")
        }
    }

    @Test func invoicesListedWithoutIdAreKeyedByTheirPeriodUntilTheRealIdArrives() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try northflankTeam(ws)
        let expected = try truth(sim)
        #expect(expected.count >= 1)
        try sim.fault("path=/v1/teams/team-1/billing/invoices&kind=omit&field=id&count=100")
        let first = try ws.billsync(["sync"])
        #expect(first.status == 0, "\(first.stderr)")
        let provisional = try ws.csv("invoices.csv")
        #expect(provisional.count == expected.count)
        #expect(
            provisional.allSatisfy { $0["invoice_id"]!.hasPrefix("period:team-1:") },
            "\(provisional.map { $0["invoice_id"]! })")
        #expect(Set(events(first, "invoice.incomplete").map { $0["fields"] }) == ["id"])
        #expect(events(first, "invoice.incomplete").count == expected.count)
        let linesBefore = try ws.csv("line_items.csv")
        try expectToolsAccept(ws)
        // The same keys on every sync: a second sync without ids adds nothing and logs nothing again.
        let again = try ws.billsync(["sync"])
        #expect(again.status == 0)
        #expect(try ws.csv("invoices.csv").map { $0["invoice_id"]! } == provisional.map { $0["invoice_id"]! })
        #expect(events(again, "invoice.incomplete").isEmpty)

        try sim.delete("/_sim/faults")
        let identified = try ws.billsync(["sync"])
        #expect(identified.status == 0, "\(identified.stderr)")
        #expect(events(identified, "invoice.identified").count == expected.count)
        let rows = try ws.csv("invoices.csv")
        #expect(rows.map { $0["invoice_id"]! }.sorted() == expected.map(\.id).sorted())
        // Lines intact, now under the real ids: the same lines, in the same order.
        let lines = try ws.csv("line_items.csv")
        #expect(lines.count == linesBefore.count)
        let byPeriod = Dictionary(
            uniqueKeysWithValues: zip(
                provisional.map { $0["invoice_id"]! }, provisional.map { $0["period_start_utc"]! }))
        let realByPeriod = Dictionary(uniqueKeysWithValues: rows.map { ($0["period_start_utc"]!, $0["invoice_id"]!) })
        #expect(lines.map { $0["amount"]! + $0["line_type"]! } == linesBefore.map { $0["amount"]! + $0["line_type"]! })
        #expect(lines.map { $0["invoice_id"]! } == linesBefore.map { realByPeriod[byPeriod[$0["invoice_id"]!]!]! })
        // Nothing duplicated in the journal: each invoice once, under its real id.
        let journal = try ws.read("billsync.journal")
        #expect(!journal.contains("period:"))
        for id in expected.map(\.id) {
            #expect(
                journal.components(separatedBy: "; invoice: \(id)").count - 1
                    == (expected.first { $0.id == id }!.paid ? 2 : 1),
                "\(id) in the journal")
        }
        try expectToolsAccept(ws)
        let status = JSONField(try JSONValue.parse(try ws.billsync(["status", "--json"]).stdout))
        #expect(try status.require("sources").array()[0].require("rows").require("incomplete_invoices").int64() == 0)
    }

    @Test func amountsAsStringsIdsAsNumbersAndTimesAsIntegralFloatsGiveByteIdenticalExports() throws {
        func synced(_ loose: Bool) throws -> (Workspace, SimHarness) {
            let sim = try SimHarness {
                $0.historyDays = 70
                $0.numericIDs = true
            }
            let ws = try Workspace(sim: sim)
            try ws.writeConfig()
            let text = try String(contentsOfFile: ws.configPath, encoding: .utf8).replacingOccurrences(
                of: "exports = [\"csv\"]", with: "exports = [\"csv\", \"ledger\", \"beancount\", \"focus\"]")
            try text.write(toFile: ws.configPath, atomically: true, encoding: .utf8)
            if loose { try sim.fault("path=/&kind=loose-types&count=100000") }
            let r = try ws.billsync(["sync"])
            #expect(r.status == 0, "\(r.stderr)")
            return (ws, sim)
        }
        let (plain, _) = try synced(false)
        let (loose, sim) = try synced(true)
        // The simulator did answer every request in the loose form.
        let left = try sim.json("/_sim/faults").array().first.map { try $0.require("count").int64() } ?? 0
        let served = try sim.totalRequests()
        #expect(served > 50 && left == 100_000 - Int64(served))
        let ids = try loose.csv("invoices.csv").filter { $0["source"] == "usageflow" }.map { $0["invoice_id"]! }
        #expect(ids.count == 8 && ids.allSatisfy { Int($0) != nil }, "\(ids)")
        let expected = try plain.exportContents()
        #expect(expected.keys.contains("billsync.beancount") && expected.keys.contains { $0.hasPrefix("focus/") })
        #expect(try loose.exportContents() == expected)
    }

    @Test func invoicesListedWithoutPaidAreUnknownAndReReadUntilAStatusAppears() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try northflankTeam(ws)
        let expected = try truth(sim)
        try sim.fault("path=/v1/teams/team-1/billing/invoices&kind=omit&field=paid&count=1")
        let first = try ws.billsync(["sync"])
        #expect(first.status == 0, "\(first.stderr)")
        let rows = try ws.csv("invoices.csv")
        #expect(rows.count == expected.count)
        #expect(rows.allSatisfy { $0["status"] == "unknown" && $0["provider_status"] == "" && $0["paid_on"] == "" })
        #expect(Set(events(first, "invoice.incomplete").map { $0["fields"] }) == ["paid"])
        let status = JSONField(try JSONValue.parse(try ws.billsync(["status", "--json"]).stdout))
        #expect(
            try status.require("sources").array()[0].require("rows").require("incomplete_invoices").int64()
                == Int64(expected.count))
        // Never counted as paid: no payment in the journal, every invoice pending.
        let journal = try ws.read("billsync.journal")
        #expect(!journal.contains("Assets:Bank:Checking  "), "a payment was booked")
        try expectToolsAccept(ws)

        try sim.resetCounts()
        let next = try ws.billsync(["sync"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(try sim.endpointCounts()["GET /v1/teams/{team}/billing/invoices"] ?? 0 >= 1)
        let now = try ws.csv("invoices.csv")
        for invoice in expected {
            let row = now.first { $0["invoice_id"] == invoice.id }
            #expect(row?["status"] == (invoice.paid ? "paid" : "open"))
            #expect(row?["provider_status"] == (invoice.paid ? "paid" : "unpaid"))
        }
        #expect(events(next, "invoice.incomplete").isEmpty)
        try expectToolsAccept(ws)
    }
}

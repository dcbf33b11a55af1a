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

/// One test per remaining row of the README's field table: the simulator leaves the field out,
/// billsync fills it as the table says, logs it once per invoice, and keeps every cent.
@Suite struct FieldFallbackTests {
    struct Run {
        let ws: Workspace
        let sim: SimHarness
        let result: ProcessResult
        var invoices: [[String: String]] { (try? ws.csv("invoices.csv")) ?? [] }
        var lines: [[String: String]] { (try? ws.csv("line_items.csv")) ?? [] }
        var incomplete: [String] {
            result.stderr.split(separator: "\n").compactMap { parseLogfmt(String($0)) }
                .filter { $0["event"] == "invoice.incomplete" }.map { $0["fields"] ?? "" }
        }
        var error: String? {
            result.stderr.split(separator: "\n").compactMap { parseLogfmt(String($0)) }.first {
                $0["event"] == "sync.failed"
            }?["error"]
        }
    }

    /// One source synced from a fresh simulator, with `faults` queued.
    func sync(_ source: String, _ faults: [String] = []) throws -> Run {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        let block = ws.standardSources.components(separatedBy: "[[sources]]").first {
            $0.contains("name = \"\(source)\"")
        }!
        try ws.writeConfig(sources: "[[sources]]" + block)
        for fault in faults { try sim.fault(fault) }
        return Run(ws: ws, sim: sim, result: try ws.billsync(["sync"]))
    }

    func expectSameExports(_ run: Run, as source: String) throws {
        #expect(run.result.status == 0, "\(run.result.stderr)")
        #expect(try run.ws.exportContents() == sync(source).ws.exportContents())
    }

    @Test func northflankWithoutCurrencyUsesTheConfiguredOne() throws {
        let run = try sync("nf-team", ["path=/v1/teams/team-1/billing/invoices&kind=omit&field=currency&count=100"])
        try expectSameExports(run, as: "nf-team")  // the simulator says "usd", the source's default is USD
        #expect(!run.invoices.isEmpty && run.invoices.allSatisfy { $0["currency"] == "USD" })
        #expect(run.incomplete == Array(repeating: "currency", count: run.invoices.count))
    }

    @Test func northflankWithoutSubTotalHasNoTaxLineAndStillBalances() throws {
        // team-1 pays 20 % tax.
        let run = try sync("nf-team", ["path=/v1/teams/team-1/billing/invoices&kind=omit&field=subTotal&count=100"])
        #expect(run.result.status == 0, "\(run.result.stderr)")
        let plain = try sync("nf-team")
        #expect(plain.lines.contains { $0["line_type"] == "tax" }, "the plain data has tax to lose")
        #expect(run.invoices.count == plain.invoices.count)
        for invoice in run.invoices {
            #expect(invoice["subtotal"] == "")
            let lines = run.lines.filter { $0["invoice_id"] == invoice["invoice_id"] }
            #expect(!lines.contains { $0["line_type"] == "tax" })
            #expect(lines.reduce(ExactDecimal.zero) { $0 + decimal($1["amount"]!) } == decimal(invoice["total"]!))
        }
        // The tax is not dropped: it is the adjustment line, cent for cent.
        let tax = plain.lines.filter { $0["line_type"] == "tax" }.reduce(ExactDecimal.zero) {
            $0 + decimal($1["amount"]!)
        }
        let adjusted = run.lines.filter { $0["line_type"] == "adjustment" }.reduce(ExactDecimal.zero) {
            $0 + decimal($1["amount"]!)
        }
        #expect(adjusted == tax)
        #expect(run.incomplete.allSatisfy { $0 == "subTotal" } && run.incomplete.count == run.invoices.count)
    }

    @Test func typesenseDetailWithoutLineItemsIsOneUnitemizedLineOfTheTotal() throws {
        let run = try sync("typesense", ["path=/api/v1/invoices/&kind=omit&field=line_items&count=1000"])
        #expect(run.result.status == 0, "\(run.result.stderr)")
        #expect(run.invoices.count == 60)
        for invoice in run.invoices {
            let lines = run.lines.filter { $0["invoice_id"] == invoice["invoice_id"] }
            #expect(lines.count == 1 && lines[0]["line_type"] == "unitemized" && lines[0]["amount"] == invoice["total"])
        }
        #expect(run.incomplete == Array(repeating: "line_items", count: 60))
    }

    @Test func typesenseWithoutStatusIsUnknownAndReReadUntilOneAppears() throws {
        let run = try sync("typesense", ["path=/api/v1/invoices&kind=omit&field=status&count=1000"])
        #expect(run.result.status == 0, "\(run.result.stderr)")
        #expect(
            run.invoices.allSatisfy { $0["status"] == "unknown" && $0["provider_status"] == "" && $0["paid_on"] == "" })
        try run.sim.delete("/_sim/faults")
        try run.sim.resetCounts()
        #expect(try run.ws.billsync(["sync"]).status == 0)
        let truth = try run.sim.json("/_sim/truth/invoices?provider=typesense").array()
        let rows = try run.ws.csv("invoices.csv")
        for invoice in truth {
            let row = rows.first { $0["invoice_id"] == (try? invoice.require("id").text()) }
            #expect(row?["provider_status"] == (try invoice.require("status").text()))
        }
        // Every invoice was unknown, so every one was read again, details included.
        #expect(try run.sim.endpointCounts()["GET /api/v1/invoices/{id}"] == 60)
    }

    @Test func typesenseWithoutInvoiceDateIsIssuedAtThePeriodEnd() throws {
        let run = try sync("typesense", ["path=/api/v1/invoices&kind=omit&field=invoice_date&count=1000"])
        #expect(run.result.status == 0, "\(run.result.stderr)")
        #expect(run.invoices.allSatisfy { $0["issued_on"] == String($0["period_end_utc"]!.prefix(10)) })
        #expect(Set(run.incomplete) == ["invoice_date"])
    }

    @Test(arguments: ["createdAt", "periodStart", "periodEnd", "periodStart,periodEnd"])
    func usageflowWithoutATimeDatesTheInvoiceByItsCalendarMonth(omitted: String) throws {
        // The simulator bills calendar months and creates each invoice as its month ends, so the
        // fallback gives exactly what the full record says.
        let run = try sync("usageflow", ["path=/api/invoices&kind=omit&field=\(omitted)"])
        try expectSameExports(run, as: "usageflow")
        #expect(Set(run.incomplete) == [omitted])
        #expect(run.incomplete.count == 8)
    }

    @Test func usageflowWithoutStatusIsUnknown() throws {
        let run = try sync("usageflow", ["path=/api/invoices&kind=omit&field=status"])
        #expect(run.result.status == 0)
        #expect(
            run.invoices.count == 8
                && run.invoices.allSatisfy { $0["status"] == "unknown" && $0["provider_status"] == "" })
        #expect(Set(run.incomplete) == ["status"])
    }

    @Test func northflankInvoiceWithoutAComponentGroupKeepsItsTotalThroughAnAdjustment() throws {
        // team-1 runs BYOC; without byocUsage its BYOC lines are gone and their sum is the adjustment.
        let run = try sync("nf-team", ["path=/v1/teams/team-1/billing/invoices&kind=omit&field=byocUsage&count=100"])
        #expect(run.result.status == 0, "\(run.result.stderr)")
        let plain = try sync("nf-team")
        #expect(run.invoices.map { $0["total"]! } == plain.invoices.map { $0["total"]! })
        let byoc = plain.lines.filter { $0["line_type"]!.hasPrefix("byoc-") }
        #expect(!byoc.isEmpty)
        #expect(!run.lines.contains { $0["line_type"]!.hasPrefix("byoc-") })
        // Without BYOC the components no longer add up to subTotal, so the tax goes into the adjustment too.
        let tax = plain.lines.filter { $0["line_type"] == "tax" }
        #expect(
            run.lines.filter { $0["line_type"] == "adjustment" }.reduce(ExactDecimal.zero) {
                $0 + decimal($1["amount"]!)
            }
                == (byoc + tax).reduce(ExactDecimal.zero) { $0 + decimal($1["amount"]!) })
        #expect(run.incomplete.isEmpty)
    }

    @Test func northflankUsageWithoutAComponentIsZeroForItAndWithoutItsListAnEmptyWindow() throws {
        let run = try sync("nf-team", ["path=/v1/teams/team-1/billing/usage&kind=omit&field=cpu&count=100"])
        #expect(run.result.status == 0, "\(run.result.stderr)")
        let plain = try sync("nf-team")
        let month = "usage/2026-10.csv"
        let hours = try run.ws.csv(month)
        let plainHours = try plain.ws.csv(month)
        #expect(hours.count == 744 && hours.allSatisfy { $0["cpu"] == "0.00" })
        #expect(plainHours.contains { $0["cpu"] != "0.00" })
        #expect(hours.map { $0["total"]! + $0["memory"]! } == plainHours.map { $0["total"]! + $0["memory"]! })
        let empty = try sync("nf-team", ["path=/v1/teams/team-1/billing/usage&kind=omit&field=usage&count=100"])
        #expect(empty.result.status == 0, "\(empty.result.stderr)")
        #expect((try? empty.ws.csv(month))?.isEmpty ?? true)
    }

    @Test func typesenseFieldsThatCarryNoMoneyFallBackQuietly() throws {
        let plain = try sync("typesense")
        let bare = try sync(
            "typesense", ["path=/api/v1/invoices&kind=omit&field=number,invoice_html_url,payment&count=1000"])
        #expect(bare.result.status == 0, "\(bare.result.stderr)")
        #expect(bare.invoices.count == 60)
        #expect(
            bare.invoices.allSatisfy {
                $0["invoice_number"] == "" && $0["url"] == "" && $0["credits_applied"] == "0.00"
            })
        #expect(
            plain.invoices.contains { $0["credits_applied"] != "0.00" } && plain.invoices.allSatisfy { $0["url"] != "" }
        )
        #expect(bare.incomplete.isEmpty)
        // Without the list's `total`, pages go on while they are full: the same invoices.
        let untotalled = try sync("typesense", ["path=/api/v1/invoices?&kind=omit&field=total&count=1000"])
        try expectSameExports(untotalled, as: "typesense")
        // Lines without description, quantity, unit price or parameters.
        let lines = try sync(
            "typesense",
            ["path=/api/v1/invoices/&kind=omit&field=description,quantity,unit_price_cents,parameters&count=1000"])
        #expect(lines.result.status == 0, "\(lines.result.stderr)")
        #expect(lines.lines.count == plain.lines.count)
        // (billsync's own adjustment lines aside)
        #expect(
            lines.lines.filter { $0["line_type"] != "adjustment" }.allSatisfy {
                $0["description"] == $0["line_type"] && $0["quantity"] == "" && $0["unit_price"] == ""
                    && $0["resource_id"] == "" && $0["attributes"] == ""
            }, "\(lines.lines.first ?? [:])")
        #expect(lines.lines.map { $0["amount"]! } == plain.lines.map { $0["amount"]! })
    }

    @Test func whatMoneyCannotDoWithoutStillFailsThePageNamingTheFieldAndCommitsNothing() throws {
        let cases: [(String, String, String)] = [
            (
                "nf-team", "path=/v1/teams/team-1/billing/invoices&kind=wrong-type",
                "GET /v1/teams/team-1/billing/invoices: unexpected response: field $.data.invoices[0].total: expected a number or a string holding one, found the string \"abc\""
            ),
            (
                "nf-team", "path=/v1/teams/team-1/billing/invoices&kind=omit&field=total",
                "GET /v1/teams/team-1/billing/invoices: unexpected response: field $.data.invoices[0].total: required field is missing"
            ),
            (
                "nf-team", "path=/v1/teams/team-1/billing/invoices&kind=omit&field=period",
                "GET /v1/teams/team-1/billing/invoices: unexpected response: field $.data.invoices[0].period: required field is missing"
            ),
            (
                "typesense", "path=/api/v1/invoices&kind=omit&field=amount_cents",
                "GET /api/v1/invoices: unexpected response: field $.invoices[0].amount_cents: required field is missing"
            ),
            (
                "usageflow", "path=/api/invoices&kind=omit&field=periodStart,periodEnd,createdAt",
                "GET /api/invoices: unexpected response: field $.invoices[0].periodEnd: required field is missing (and so are periodStart and createdAt, which could date the invoice)"
            ),
        ]
        for (source, fault, message) in cases {
            let run = try sync(source, [fault])
            #expect(run.result.status == 1)
            #expect(run.error == message)
            #expect(run.invoices.isEmpty, "\(source): something was committed")
        }
    }
}

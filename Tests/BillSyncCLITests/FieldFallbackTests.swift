import BillSyncCore
import BillSyncTestSupport
import Foundation
import Testing

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
        // Only the reconciliation differs: with no total stated, there is no list count to check.
        let untotalled = try sync("typesense", ["path=/api/v1/invoices?&kind=omit&field=total&count=1000"])
        #expect(untotalled.result.status == 0, "\(untotalled.result.stderr)")
        var mine = try untotalled.ws.exportContents()
        var theirs = try plain.ws.exportContents()
        #expect(
            CSV.records(String(decoding: theirs["reconciliation.csv"] ?? [], as: UTF8.self)).filter {
                $0["check"] == "list-total"
            }.count == 1)
        #expect(
            !CSV.records(String(decoding: mine["reconciliation.csv"] ?? [], as: UTF8.self)).contains {
                $0["check"] == "list-total"
            })
        (mine["reconciliation.csv"], theirs["reconciliation.csv"]) = (nil, nil)
        #expect(mine == theirs)
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

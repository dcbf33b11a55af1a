import BillSyncCore
import BillSyncStore
import BillSyncTestSupport
import Foundation
import Testing

/// The core contract, end to end: the real `billsync` binary over loopback HTTP against
/// `billsync-sim`, checked against the simulator's ground truth.
@Suite(.serialized) struct SyncTests {
    static let sources: [(source: String, provider: String, account: String?, currency: String)] = [
        ("nf-team", "northflank", "team-1", "USD"), ("nf-org", "northflank", "org", "USD"),
        ("typesense", "typesense", nil, "USD"), ("usageflow", "usageflow", nil, "EUR"),
    ]

    static func expectedStatus(_ raw: String) -> String {
        switch raw {
        case "paid", "PAID", "true": "paid"
        case "due", "unpaid", "PENDING", "false": "open"
        case "FAILED": "failed"
        default: "unknown"
        }
    }

    @Test func everyInvoiceAndHourAppearsOnceWithTheSimulatorsValues() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig()
        let run = try ws.billsync(["sync"])
        #expect(run.status == 0, "\(run.stderr)")

        let invoices = try ws.csv("invoices.csv")
        let lines = try ws.csv("line_items.csv")
        var lineSums: [String: ExactDecimal] = [:]
        for line in lines {
            lineSums[line["source"]! + "/" + line["invoice_id"]!, default: .zero] += decimal(line["amount"]!)
        }
        var checked = 0
        for s in Self.sources {
            let truth = try sim.json(
                "/_sim/truth/invoices?provider=\(s.provider)" + (s.account.map { "&account=\($0)" } ?? "")
            ).array()
            let rows = invoices.filter { $0["source"] == s.source }
            #expect(rows.count == truth.count, "\(s.source)")
            #expect(Set(rows.map { $0["invoice_id"]! }).count == rows.count, "\(s.source): an invoice appears twice")
            #expect(!truth.isEmpty)
            for t in truth {
                let id = try t.require("id").text()
                let row = try #require(rows.first { $0["invoice_id"] == id }, "\(s.source) \(id) missing")
                #expect(row["total"] == decimal(try t.require("total").text()).description, "\(id)")
                #expect(row["status"] == Self.expectedStatus(try t.require("status").text()), "\(id)")
                #expect(row["currency"] == s.currency)
                #expect(row["period_start_utc"] == UTC.dateTime(try t.require("period_start").int64()))
                #expect(
                    row["period_end_utc"]
                        == UTC.dateTime(Normalization.exclusiveEnd(try t.require("period_end").int64())))
                #expect(row["credits_applied"] == decimal(try t.require("credits_applied").text()).description, "\(id)")
                // Every invoice's lines sum exactly to its total.
                #expect(
                    lineSums[s.source + "/" + id] == decimal(row["total"]!),
                    "\(s.source) \(id): lines do not sum to the total")
                checked += 1
            }
        }
        #expect(checked == invoices.count)

        // Usage: every hour from usage_start to the last whole hour, once, exactly.
        let start = UTC.parse(Workspace.usageStart)!
        var usage: [[String: String]] = []
        for month in ["2026-10"] { usage += try ws.csv("usage/\(month).csv") }
        #expect(!FileManager.default.fileExists(atPath: ws.exportDir + "/usage/2026-11.csv"))
        let columns = [
            "total", "paas_total", "cpu", "memory", "storage", "gpu", "byoc_total", "byoc_vcpu", "byoc_memory",
            "byoc_gpu_memory", "byoc_cluster",
        ]
        for (source, account) in [("nf-team", "team-1"), ("nf-org", "org")] {
            let truth = try sim.json("/_sim/truth/usage?account=\(account)&start=\(start)&end=\(lastWholeHourEnd)")
                .array()
            let rows = usage.filter { $0["source"] == source }
            #expect(truth.count == Int(lastWholeHourEnd - start) / 3600)
            #expect(rows.count == truth.count, "\(source)")
            #expect(Set(rows.map { $0["hour_start_utc"]! }).count == rows.count)
            let byHour = Dictionary(uniqueKeysWithValues: rows.map { ($0["hour_start_utc"]!, $0) })
            for t in truth {
                let hour = UTC.dateTime(try t.require("hour").int64())
                let row = try #require(byHour[hour], "\(source) \(hour) missing")
                for column in columns {
                    #expect(
                        row[column] == decimal(try t.require(column).text()).description, "\(source) \(hour) \(column)")
                }
                #expect(row["currency"] == "USD")
            }
        }
    }

    @Test func aResyncWithoutUpstreamChangesMakesOnlyTheMinimumRequestsAndRewritesNothing() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig()
        #expect(try ws.billsync(["sync"]).status == 0)
        let before = try ws.mtimes()
        #expect(before.count == 5)  // invoices, line items, accruals, reconciliation, one usage month
        try sim.resetCounts()
        Thread.sleep(forTimeInterval: 1.1)  // mtimes have at least 1 s resolution on some filesystems
        let run = try ws.billsync(["sync"])
        #expect(run.status == 0, "\(run.stderr)")
        let counts = try sim.endpointCounts().filter { $0.value > 0 }
        #expect(
            counts == [
                "GET /v1/teams/{team}/billing/invoices": 1, "GET /v1/billing/invoices": 1,
                "GET /v1/teams/{team}/billing/usage": 1, "GET /v1/billing/usage": 1,
                "GET /api/v1/invoices": 1, "GET /api/invoices": 1,
            ])
        #expect(try ws.mtimes() == before)
        #expect(!run.stderr.contains("event=export.written"))
        // Nothing changed, so no file was even generated again.
        #expect(run.stderr.contains(" files=0 written=0"), "\(run.stderr)")
        // Each source's sync says what started it; the export lines are the pass's own.
        let syncLines = run.stderr.split(separator: "\n").filter {
            $0.contains("event=sync.started") || $0.contains("event=sync.finished")
        }
        #expect(syncLines.count == 8)  // four sources, started and finished
        #expect(syncLines.allSatisfy { $0.contains(" trigger=manual") }, "\(syncLines)")
        #expect(!run.stderr.split(separator: "\n").contains { $0.contains("event=export") && $0.contains("trigger=") })
    }

    @Test func syncsRegenerateOnlyWhatChangedOrIsMissing() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig()
        #expect(try ws.billsync(["sync"]).status == 0)
        let full = try ws.exportContents()
        // A deleted month comes back; nothing else is generated.
        try FileManager.default.removeItem(atPath: ws.exportDir + "/usage/2026-10.csv")
        let again = try ws.billsync(["sync"])
        #expect(again.stderr.contains(" files=1 written=1"), "\(again.stderr)")
        #expect(try ws.exportContents() == full)
        // A new invoice regenerates the invoice files only (and those made from them: the
        // accruals, unchanged, and the reconciliation, with the new invoice's checks).
        try sim.post("/_sim/invoices/usageflow/new?count=1")
        let one = try ws.billsync(["sync"])
        #expect(one.stderr.contains(" files=4 written=3"), "\(one.stderr)")
        // Changed export settings regenerate everything.
        var text = try String(contentsOfFile: ws.configPath, encoding: .utf8)
        text = text.replacingOccurrences(of: "exports = [\"csv\"]", with: "exports = [\"csv\"]\ncsv_bom = true")
        try text.write(toFile: ws.configPath, atomically: true, encoding: .utf8)
        let bom = try ws.billsync(["sync"])
        #expect(bom.stderr.contains(" files=5 written=5"), "\(bom.stderr)")
        let bytes = Array(FileManager.default.contents(atPath: ws.exportDir + "/invoices.csv") ?? Data())
        #expect(Array(bytes.prefix(10)) == [0xEF, 0xBB, 0xBF] + Array("source,".utf8))
    }

    @Test func anInvoiceThatTurnsPaidUpstreamShowsPaidWithAHistoryRow() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig()
        #expect(try ws.billsync(["sync"]).status == 0)
        let truth = try sim.json("/_sim/truth/invoices?provider=typesense").array()
        let due = try #require(truth.first { (try? $0.require("status").text()) == "due" })
        let id = try due.require("id").text()
        #expect(try ws.csv("invoices.csv").first { $0["invoice_id"] == id }?["status"] == "open")

        try sim.post("/_sim/invoices/typesense/\(id)/status?value=paid")
        try sim.resetCounts()
        #expect(try ws.billsync(["sync", "--source", "typesense"]).status == 0)
        let row = try #require(try ws.csv("invoices.csv").first { $0["invoice_id"] == id })
        #expect(row["status"] == "paid")
        #expect(row["provider_status"] == "paid")
        #expect(row["paid_on"] == UTC.date(testNow))
        #expect(try sim.endpointCounts()["GET /api/v1/invoices/{id}"] == 1)

        let store = try BillingStore(path: ws.stateDir + "/billsync.sqlite3")
        let history = try store.history(source: "typesense", invoiceID: id)
        #expect(history.map(\.change) == ["created", "changed"])
        #expect(history.map(\.status) == ["open", "paid"])
        #expect(history.last?.seenAt == testNow)
    }

    @Test func descriptionsSurviveARoundTripThroughPythonsCSVModule() throws {
        let sim = try SimHarness {
            $0.hostileText = true
            $0.typesenseInvoices = 12
        }
        let ws = try Workspace(sim: sim)
        try ws.writeConfig()
        #expect(try ws.billsync(["sync", "--source", "typesense"]).status == 0)
        let script = """
            import csv, json, sys
            with open(sys.argv[1], newline='', encoding='utf-8') as f:
                rows = list(csv.DictReader(f))
            print(json.dumps({r['invoice_id'] + '/' + r['line_no']: r['description'] for r in rows}))
            """
        let r = try runProcess("/usr/bin/env", ["python3", "-c", script, ws.exportDir + "/line_items.csv"])
        #expect(r.status == 0, "\(r.stderr)")
        guard case .object(let parsed) = try JSONValue.parse(r.stdout) else {
            Issue.record("not JSON")
            return
        }
        var hostile = 0
        for invoice in try sim.json("/_sim/truth/invoices?provider=typesense").array() {
            let id = try invoice.require("id").text()
            for (index, line) in try invoice.require("line_items").array().enumerated() {
                let original = try line.require("description").text()
                let guarded =
                    ["=", "+", "-", "@", "\t", "\r"].contains { original.hasPrefix($0) } ? "'" + original : original
                #expect(parsed["\(id)/\(index + 1)"] == .string(guarded), "\(id) line \(index + 1)")
                if original.contains(",") || original.contains("\"") || original.contains("\n") || guarded != original {
                    hostile += 1
                }
            }
        }
        #expect(hostile >= 5, "the data set should hold hostile descriptions")
        let lines = try ws.read("line_items.csv")
        #expect(lines.contains("\r\n"))
        #expect(lines.contains("Zürich"))
    }
}

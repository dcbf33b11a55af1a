import BillSyncCore
import BillSyncTestSupport
import Foundation
import Testing

/// `metrics_file`: the node_exporter textfile after a sync, checked by Prometheus' own
/// `promtool` and against `status --json`, the exports and the simulator's request log.
@Suite struct MetricsTests {
    /// `name{labels}` → value, from the text format.
    static func samples(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            out[String(line[..<space])] = Double(line[line.index(after: space)...])
        }
        return out
    }

    @Test func theTextfileIsValidAndItsValuesAreTheStoresAndTheSimulators() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        let path = ws.root + "/billsync.prom"
        try ws.writeConfig(extra: "metrics_file = \"\(path)\"")
        let run = try ws.billsync(["sync"])
        #expect(run.status == 0, "\(run.stderr)")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let promtool = try #require(AccountingExportTests.which("promtool"), "promtool is not installed")
        let check = try runProcess("/bin/sh", ["-c", "\"$0\" check metrics < \"$1\"", promtool, path])
        #expect(check.status == 0 && check.stdout.isEmpty && check.stderr.isEmpty, "\(check.stdout)\(check.stderr)")
        let m = Self.samples(text)
        #expect(m["billsync_build_info{version=\"0.2.0\"}"] == 1)

        // Rows and the last success, as `status --json` has them.
        let status = JSONField(try JSONValue.parse(try ws.billsync(["status", "--json"]).stdout))
        guard case .array(let sources) = try status.require("sources").value else {
            Issue.record("no sources in status")
            return
        }
        #expect(sources.count == 4)
        for entry in sources.map({ JSONField($0) }) {
            let name = try entry.require("source").string()
            let labels = "source=\"\(name)\",provider=\"\(try entry.require("provider").string())\""
            for (kind, key) in [("invoices", "invoices"), ("line_items", "line_items"), ("usage_hours", "usage_hours")]
            {
                #expect(
                    m["billsync_stored_rows{\(labels),kind=\"\(kind)\"}"]
                        == Double(try entry.require("rows").require(key).int64()), "\(name) \(kind)")
            }
            let success = try #require(UTC.parse(try entry.require("last_success").string()))
            #expect(m["billsync_source_last_success_timestamp_seconds{\(labels)}"] == Double(success))
            #expect(m["billsync_source_last_sync_success{\(labels)}"] == 1)
            #expect(m["billsync_syncs_total{\(labels),result=\"ok\"}"] == 1)
        }

        // Open invoices, count and amount per currency, as invoices.csv has them.
        var open: [String: (count: Double, amount: ExactDecimal)] = [:]
        for row in try ws.csv("invoices.csv") where row["status"] != "paid" {
            let key = "source=\"\(row["source"]!)\",provider=\"\(row["provider"]!)\",currency=\"\(row["currency"]!)\""
            open[key, default: (0, .zero)].count += 1
            open[key, default: (0, .zero)].amount += decimal(row["total"]!)
        }
        #expect(!open.isEmpty)
        for (key, o) in open {
            #expect(m["billsync_open_invoices{\(key)}"] == o.count, "\(key)")
            #expect(m["billsync_open_invoices_amount{\(key)}"] == Double(o.amount.description), "\(key)")
        }
        #expect(m.keys.filter { $0.hasPrefix("billsync_open_invoices{") }.count == open.count)

        // Every response the simulator gave, counted once, by status class.
        let log = try sim.json("/_sim/requests")
        let responses = m.filter { $0.key.hasPrefix("billsync_http_responses_total{") }
        #expect(Int(responses.values.reduce(0, +)) == Int(try log.require("total").int64()))
        let ok = responses.filter { $0.key.contains("status_class=\"2xx\"") }.values.reduce(0, +)
        #expect(Int(ok) == Int(try log.require("statuses").require("200").int64()))
    }

    @Test func theDaemonRewritesTheTextfileAfterEachSync() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        let path = ws.root + "/billsync.prom"
        try ws.writeConfig(extra: "metrics_file = \"\(path)\"\npoll_interval = \"1h\"")
        let daemon = try ws.startBillsync(["run"])
        #expect(daemon.waitForEvent("sync.finished", count: 4, timeout: 30), "\(daemon.stderrSoFar)")
        // Written after each source's sync: the last one holds all four.
        var samples: [String: Double] = [:]
        let deadline = Date().addingTimeInterval(10)
        repeat {
            samples = Self.samples((try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
            if samples.keys.filter({ $0.hasPrefix("billsync_syncs_total{") }).count == 4 { break }
            Thread.sleep(forTimeInterval: 0.05)
        } while Date() < deadline
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 10) != nil)
        #expect(
            samples.filter { $0.key.hasPrefix("billsync_syncs_total{") && $0.key.contains("result=\"ok\"") }.count == 4)
        #expect(samples.filter { $0.key.hasPrefix("billsync_source_last_sync_success{") }.values.allSatisfy { $0 == 1 })
        #expect(samples["billsync_export_last_success_timestamp_seconds"] != nil)
        #expect(!daemon.stderrSoFar.contains("metrics.failed"))
    }

    @Test func aMetricsFileThatIsNotAnAbsolutePathIsAConfigError() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig(extra: "metrics_file = \"billsync.prom\"")
        let run = try ws.billsync(["check"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("metrics_file: must be an absolute file path"), "\(run.stderr)")
    }
}

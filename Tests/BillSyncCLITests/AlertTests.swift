import BillSyncCore
import BillSyncSimulator
import BillSyncTestSupport
import Foundation
import Testing

/// Alerts out, to the simulator's chat-webhook receiver (`/_sim/alerts`) over loopback HTTP.
@Suite struct AlertTests {
    static let now = BudgetTests.now

    func workspace() throws -> (SimHarness, Workspace) {
        let sim = try BudgetTests.spikedSimulator()
        let ws = try Workspace(sim: sim)
        try (sim.base + "/_sim/alerts\n").write(toFile: ws.root + "/keys/alerts", atomically: true, encoding: .utf8)
        try ws.writeConfig(
            sources: BudgetTests.orgBudget(ws, thresholds: "0.8, 1.0"),
            extra: "alert_webhook_url_file = \"\(ws.root)/keys/alerts\"")
        return (sim, ws)
    }

    func received(_ sim: SimHarness) throws -> [JSONField] {
        try sim.get("/_sim/alerts").split(separator: "\n").map { JSONField(try JSONValue.parse(String($0))) }
    }

    @Test func theReceiverGetsExactlyTheThresholdsAndTheSpikeOnce() throws {
        let (sim, ws) = try workspace()
        let env = ["BILLSYNC_NOW": String(Self.now)]
        let first = try ws.billsync(["sync"], env: env)
        #expect(first.status == 0, "\(first.stderr)")
        let alerts = try received(sim)
        #expect(
            try alerts.map { try $0.require("event").text() } == [
                "usage.spike", "budget.threshold", "budget.threshold",
            ])
        #expect(try alerts[0].require("hour").text() == "2026-11-14T10:00:00Z")
        #expect(try alerts.dropFirst().map { try $0.require("threshold").text() } == ["0.80", "1.00"])
        #expect(
            try alerts[1].require("text").text().hasPrefix("billsync: budget northflank passed 80.0 % in 2026-11: "))
        // Nothing secret in what went out, nor the alert URL in the log.
        let bodies = try sim.get("/_sim/alerts")
        #expect(!bodies.contains(sim.options.northflankKey))
        #expect(!first.stderr.contains("/_sim/alerts"))
        // The next sync (another process) sends nothing again.
        let second = try ws.billsync(["sync"], env: env)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(try received(sim).count == 3)
        // reconcile sends its findings: here the month in progress has no invoice, so none.
        #expect(try ws.billsync(["reconcile"], env: env).status == 0)
        #expect(try received(sim).count == 3)
    }

    /// `check` reads the URL file as `sync` does: missing, or not https (outside loopback), it
    /// says so and exits 2, without the URL in its output.
    @Test func checkReadsTheAlertURLFile() throws {
        let (_, ws) = try workspace()
        let ok = try ws.billsync(["check"])
        #expect(ok.status == 0, "\(ok.stderr)")
        try "http://chat.example.com/hooks/T0/secret-path\n".write(
            toFile: ws.root + "/keys/alerts", atomically: true, encoding: .utf8)
        let plain = try ws.billsync(["check"])
        #expect(plain.status == 2)
        #expect(plain.stderr.contains("alert_webhook_url_file"), "\(plain.stderr)")
        #expect(plain.stderr.contains("must start with https://"), "\(plain.stderr)")
        #expect(!(plain.stdout + plain.stderr).contains("secret-path"), "the URL is a secret")
        try FileManager.default.removeItem(atPath: ws.root + "/keys/alerts")
        let missing = try ws.billsync(["check"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("/keys/alerts"), "\(missing.stderr)")
    }

    @Test func aReceiverAnswering500DelaysNeitherTheSyncNorTheExports() throws {
        let (sim, ws) = try workspace()
        try sim.post("/_sim/alerts/status?code=500")
        let started = Date()
        let run = try ws.billsync(["sync"], env: ["BILLSYNC_NOW": String(Self.now)])
        let seconds = Date().timeIntervalSince(started)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stderr.split(separator: "\n")
        let exported = try #require(lines.firstIndex { $0.contains("event=export.finished") })
        let failed = lines.indices.filter { lines[$0].contains("event=alert.failed") }
        // Three alerts, none delivered, each logged once, after the exports were written.
        #expect(failed.count == 3, "\(run.stderr)")
        #expect(failed.allSatisfy { $0 > exported })
        #expect(try received(sim).isEmpty)
        #expect(Int(try sim.json("/_sim/alerts/attempts").require("attempts").int64()) >= 2)
        // The exports are all there; the process waited at most its 5 s for the alerts.
        #expect(FileManager.default.fileExists(atPath: ws.exportDir + "/accruals.csv"))
        #expect(seconds < 9, "\(seconds) s")
    }
}

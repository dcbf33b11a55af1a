import BillSyncCore
import BillSyncTestSupport
import Foundation
import Testing

/// `[http] listen` in `billsync run`, over real loopback HTTP: `/livez`, `/readyz`, `/metrics`.
@Suite struct ListenerTests {
    static func get(_ port: Int, _ path: String) throws -> (status: Int, body: String) {
        let reply = try LoopbackClient(port: port).send("GET", path, [:], close: true)
        return (reply.status, reply.text)
    }

    @Test func healthAndMetricsWhileTheDaemonRuns() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        let port = freeLoopbackPort()
        try ws.writeConfig(extra: "poll_interval = \"1h\"\n[http]\nlisten = \"127.0.0.1:\(port)\"")
        let daemon = try ws.startBillsync(["run"])
        defer {
            daemon.signal(SIGTERM)
            _ = daemon.waitForExit(timeout: 10)
        }
        #expect(daemon.waitForEvent("sync.finished", count: 4, timeout: 30), "\(daemon.stderrSoFar)")
        #expect(daemon.waitForEvent("http.listening", timeout: 5))
        #expect(try Self.get(port, "/livez") == (200, "ok\n"))
        #expect(try Self.get(port, "/readyz") == (200, "ready\n"))
        let verbose = try Self.get(port, "/readyz?verbose")
        #expect(verbose.status == 200)
        let json = JSONField(try JSONValue.parse(verbose.body))
        #expect(try json.require("ready").value == .bool(true))
        guard case .array(let sources) = try json.require("sources").value else {
            Issue.record("no sources: \(verbose.body)")
            return
        }
        #expect(sources.count == 4)
        let metrics = try Self.get(port, "/metrics")
        #expect(metrics.status == 200)
        let path = ws.root + "/scraped.prom"
        try metrics.body.write(toFile: path, atomically: true, encoding: .utf8)
        let promtool = try #require(AccountingExportTests.which("promtool"), "promtool is not installed")
        let check = try runProcess("/bin/sh", ["-c", "\"$0\" check metrics < \"$1\"", promtool, path])
        #expect(check.status == 0 && check.stdout.isEmpty && check.stderr.isEmpty, "\(check.stdout)\(check.stderr)")
        let samples = MetricsTests.samples(metrics.body)
        #expect(
            samples.filter { $0.key.hasPrefix("billsync_syncs_total{") && $0.key.contains("result=\"ok\"") }.count == 4)
        let log = try sim.json("/_sim/requests")
        let responses = samples.filter { $0.key.hasPrefix("billsync_http_responses_total{") }.values.reduce(0, +)
        #expect(Int(responses) == Int(try log.require("total").int64()))
        #expect(try Self.get(port, "/nothing-here").status == 404)
        // The key is nowhere in what the listener serves.
        for body in [verbose.body, metrics.body] { #expect(!body.contains(sim.options.northflankKey)) }
    }

    @Test func readyzIs503WhileASourceHasFailedForMoreThanTwiceItsInterval() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        let port = freeLoopbackPort()
        try "wrong-key\n".write(toFile: ws.root + "/keys/bad", atomically: true, encoding: .utf8)
        try ws.writeConfig(
            sources: """
                [[sources]]
                name = "usageflow"
                provider = "usageflow"
                api_key_file = "\(ws.root)/keys/uf"
                base_url = "\(sim.base)"
                rate_limit = "none"

                [[sources]]
                name = "uf-bad-key"
                provider = "usageflow"
                api_key_file = "\(ws.root)/keys/bad"
                base_url = "\(sim.base)"
                rate_limit = "none"
                poll_interval = "1s"
                """, extra: "[http]\nlisten = \"127.0.0.1:\(port)\"")
        // The real clock: readiness is about time passing.
        let daemon = try startProcess(binDir + "/billsync", ["--config", ws.configPath, "run"])
        defer {
            daemon.signal(SIGTERM)
            _ = daemon.waitForExit(timeout: 10)
        }
        #expect(daemon.waitForEvent("sync.failed", timeout: 20), "\(daemon.stderrSoFar)")
        var status = 0
        var body = ""
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            (status, body) = try Self.get(port, "/readyz")
            if status == 503 { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(status == 503)
        #expect(body == "not ready: uf-bad-key\n")
        let verbose = JSONField(try JSONValue.parse(try Self.get(port, "/readyz?verbose").body))
        #expect(try verbose.require("ready").value == .bool(false))
        #expect(try Self.get(port, "/livez").status == 200, "the loop runs; only a source fails")
    }
}

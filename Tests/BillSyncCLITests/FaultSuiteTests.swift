import BillSyncCore
import BillSyncSimulator
import BillSyncTestSupport
import Foundation
import Testing

/// Every fault the simulator can inject, against the real binary: what billsync does, and
/// that nothing is lost or duplicated. The figures go to RELIABILITY.md.
@Suite struct FaultSuiteTests {
    func only(_ ws: Workspace, _ source: String) -> String {
        "[[sources]]" + ws.standardSources.components(separatedBy: "[[sources]]").first {
            $0.contains("name = \"\(source)\"")
        }!
    }

    /// Syncs one source with the faults queued, then checks the export against the truth.
    func syncThrough(_ faults: [String], source: String = "usageflow", extra: String = "") throws -> (
        ProcessResult, [String: Int], Workspace, SimHarness
    ) {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig(sources: only(ws, source), extra: extra)
        for f in faults { try sim.fault(f) }
        try sim.resetCounts()
        let r = try ws.billsync(["sync"])
        return (r, try sim.endpointCounts(), ws, sim)
    }

    func lines(_ r: ProcessResult, _ event: String) -> [[String: String]] {
        r.stderr.split(separator: "\n").compactMap { parseLogfmt(String($0)) }.filter { $0["event"] == event }
    }

    func expectComplete(
        _ ws: Workspace, _ sim: SimHarness, provider: String = "usageflow", source: String = "usageflow"
    ) throws {
        let truth = try sim.json("/_sim/truth/invoices?provider=\(provider)").array()
        let rows = try ws.csv("invoices.csv").filter { $0["source"] == source }
        #expect(rows.count == truth.count, "lost or duplicated invoices")
        #expect(Set(rows.map { $0["invoice_id"]! }) == Set(try truth.map { try $0.require("id").text() }))
    }

    @Test func retryAfterInSecondsIsWaitedOut() throws {
        let (r, counts, ws, sim) = try syncThrough(["path=/api/invoices&kind=retry-after&value=1&count=1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(lines(r, "ratelimit.wait").first?["wait_ms"] == "1000")
        #expect(counts["GET /api/invoices"] == 2)
        try expectComplete(ws, sim)
    }

    @Test func retryAfterAsAnHTTPDateIsWaitedOut() throws {
        let (r, counts, ws, sim) = try syncThrough(["path=/api/invoices&kind=retry-after-date&value=2&count=1"])
        #expect(r.status == 0, "\(r.stderr)")
        let wait = Int(lines(r, "ratelimit.wait").first?["wait_ms"] ?? "") ?? -1
        #expect(wait >= 500 && wait <= 2000, "waited \(wait) ms")
        #expect(counts["GET /api/invoices"] == 2)
        try expectComplete(ws, sim)
    }

    @Test func xRateLimitResetIsWaitedOut() throws {
        let (r, counts, ws, sim) = try syncThrough(
            ["path=/v1/teams/team-1/billing/invoices&kind=ratelimit-reset&value=1&count=1"], source: "nf-team")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(lines(r, "ratelimit.wait").first?["wait_ms"] == "1000")
        #expect(counts["GET /v1/teams/{team}/billing/invoices"] == 2)
        try expectComplete(ws, sim, provider: "northflank&account=team-1", source: "nf-team")
    }

    @Test func burstsOf5xxAreRetriedWithBackoff() throws {
        let (r, counts, ws, sim) = try syncThrough([
            "path=/api/invoices&kind=status&code=500&message=oops&count=1",
            "path=/api/invoices&kind=status&code=502&message=gateway&count=1",
            "path=/api/invoices&kind=status&code=503&message=busy&count=1",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(lines(r, "request.retry").map { $0["reason"] } == ["HTTP 500", "HTTP 502", "HTTP 503"])
        #expect(counts["GET /api/invoices"] == 4)
        try expectComplete(ws, sim)
        // Past the retry budget the source fails, naming the last status.
        let (r2, _, _, _) = try syncThrough(["path=/api/invoices&kind=status&code=503&message=busy&count=10"])
        #expect(r2.status == 1)
        #expect(lines(r2, "sync.failed").first?["error"] == "GET /api/invoices: gave up after 4 attempts: HTTP 503")
    }

    @Test func connectionResetsAreRetried() throws {
        let (r, counts, ws, sim) = try syncThrough(["path=/api/invoices&kind=reset&count=2"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(lines(r, "request.retry").count == 2)
        #expect(counts["GET /api/invoices"] == 3)
        try expectComplete(ws, sim)
    }

    @Test func aServerStallingPastTheTimeoutIsRetried() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig(sources: only(ws, "usageflow"))
        // The workspace's request_timeout is 5 s; this test wants 1 s.
        var text = try String(contentsOfFile: ws.configPath, encoding: .utf8)
        text = text.replacingOccurrences(of: "request_timeout = \"5s\"", with: "request_timeout = \"1s\"")
        try text.write(toFile: ws.configPath, atomically: true, encoding: .utf8)
        try sim.fault("path=/api/invoices&kind=stall&value=2500&count=1")
        let started = Date()
        let stalled = try ws.billsync(["sync"])
        #expect(stalled.status == 0, "\(stalled.stderr)")
        #expect(Date().timeIntervalSince(started) < 4)
        #expect(lines(stalled, "request.retry").first?["reason"]?.contains("Timeout") == true, "\(stalled.stderr)")
        try expectComplete(ws, sim)
    }

    @Test func wrongJSONTypesStopTheSourceNamingTheField() throws {
        let (r, _, ws, _) = try syncThrough(["path=/api/invoices&kind=wrong-type&count=1"])
        #expect(r.status == 1)
        #expect(
            lines(r, "sync.failed").first?["error"]
                == "GET /api/invoices: unexpected response: field $.invoices[0].amount: expected a number or a string holding one, found the string \"abc\""
        )
        #expect(try ws.csv("invoices.csv").isEmpty)
    }

    @Test func aBodyOverTheSizeCapStopsTheSource() throws {
        let (r, counts, _, _) = try syncThrough(
            ["path=/api/invoices&kind=oversize&value=200000&count=1"], extra: "max_response_bytes = 65536")
        #expect(r.status == 1)
        #expect(lines(r, "sync.failed").first?["error"] == "GET /api/invoices: response body larger than 65536 bytes")
        #expect(counts["GET /api/invoices"] == 1, "an oversize body is not retried")
    }

    /// Runs a Typesense sync whose page 2 stalls, and calls `meanwhile` once page 1's fifty
    /// details are in and the walk waits on page 2; returns when the sync has ended with exit 0.
    func syncWithStalledPageTwo(_ sim: SimHarness, _ ws: Workspace, meanwhile: () throws -> Void) throws {
        try sim.fault("path=/api/v1/invoices?page=2&kind=stall&value=2500&count=1")
        let sync = try ws.startBillsync(["sync"])
        let deadline = Date().addingTimeInterval(20)
        while (try sim.endpointCounts()["GET /api/v1/invoices/{id}"] ?? 0) < 50 && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        Thread.sleep(forTimeInterval: 0.3)
        try meanwhile()
        sync.process.waitUntilExit()
        #expect(sync.process.terminationStatus == 0)
        _ = sync.result()
    }

    @Test func anInvoiceTurningPaidMidWalkIsNotMissed() throws {
        let sim = try SimHarness { $0.typesenseInvoices = 120 }
        let ws = try Workspace(sim: sim)
        try ws.writeConfig(sources: only(ws, "typesense"))
        let due = try sim.json("/_sim/truth/invoices?provider=typesense").array().first {
            (try? $0.require("status").text()) == "due"
        }!
        let id = try due.require("id").text()
        // Page 2 stalls; meanwhile the due invoice on page 1, already read, is paid.
        try syncWithStalledPageTwo(sim, ws) { try sim.post("/_sim/invoices/typesense/\(id)/status?value=paid") }
        #expect(try ws.csv("invoices.csv").first { $0["invoice_id"] == id }?["status"] == "open")
        #expect(try ws.billsync(["sync"]).status == 0)
        #expect(try ws.csv("invoices.csv").first { $0["invoice_id"] == id }?["status"] == "paid")
        try expectComplete(ws, sim, provider: "typesense", source: "typesense")
    }

    @Test func newInvoicesAtTheHeadDuringAWalkSkipNothing() throws {
        let sim = try SimHarness { $0.typesenseInvoices = 120 }
        let ws = try Workspace(sim: sim)
        try ws.writeConfig(sources: only(ws, "typesense"))
        let before = Set(
            try sim.json("/_sim/truth/invoices?provider=typesense").array().map { try $0.require("id").text() })
        // Three invoices appear at the head: every later page shifts by three.
        try syncWithStalledPageTwo(sim, ws) { try sim.post("/_sim/invoices/typesense/new?count=3") }
        let rows = try ws.csv("invoices.csv")
        #expect(rows.count == before.count, "page drift skipped or duplicated invoices")
        #expect(Set(rows.map { $0["invoice_id"]! }) == before)
        #expect(try ws.billsync(["sync"]).status == 0)
        try expectComplete(ws, sim, provider: "typesense", source: "typesense")
        #expect(try ws.csv("invoices.csv").count == before.count + 3)
    }

    @Test func debugLoggingShowsRequestsButNoKey() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig(extra: "log_level = \"debug\"")
        try sim.fault("path=/api/invoices&kind=status&code=401&message=bad%20key%20\(sim.options.usageflowKey)&count=1")
        let r = try ws.billsync(["sync"])
        #expect(r.status == 1)
        let requests = lines(r, "http.request")
        #expect(requests.count > 5)
        let headers = Set(requests.compactMap { $0["headers"] })
        #expect(
            headers == [
                "Authorization: [redacted]", "X-TYPESENSE-CLOUD-MANAGEMENT-API-KEY: [redacted]",
                "x-usageflow-api-key: [redacted]",
            ])
        for key in [sim.options.northflankKey, sim.options.typesenseKey, sim.options.usageflowKey] {
            #expect(!r.stderr.contains(key) && !r.stdout.contains(key), "\(key) leaked")
        }
        // The provider echoed the key in its error: it is blanked there too.
        #expect(
            lines(r, "sync.failed").first?["error"]
                == "GET /api/invoices: HTTP 401: bad key [redacted] (check the API key)")
        let status = try ws.billsync(["status", "--json"])
        #expect(!status.stdout.contains(sim.options.usageflowKey))
    }

    @Test func looseKeyFilesAndInlineKeysAreWarnedAbout() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig()
        chmod(ws.root + "/keys/ts", 0o644)
        let r = try ws.billsync(["check"])
        #expect(r.status == 0)
        #expect(
            r.stdout.contains(
                "warning: source typesense: key file \(ws.root)/keys/ts is readable by group or others (mode 644); chmod 600 it"
            ))
        var text = try String(contentsOfFile: ws.configPath, encoding: .utf8)
        text = text.replacingOccurrences(
            of: "api_key_file = \"\(ws.root)/keys/uf\"", with: "api_key = \"\(sim.options.usageflowKey)\"")
        try text.write(toFile: ws.configPath, atomically: true, encoding: .utf8)
        chmod(ws.configPath, 0o644)
        let inline = try ws.billsync(["check"])
        #expect(
            inline.stdout.contains(
                "warning: source usageflow: api_key is written inline in \(ws.configPath); prefer api_key_file or api_key_env"
            ))
        #expect(
            inline.stdout.contains(
                "warning: \(ws.configPath) holds an inline api_key and is readable by group or others (mode 644)"))
        #expect(!inline.stdout.contains(sim.options.usageflowKey))
        // An empty key file is a config error.
        try "".write(toFile: ws.root + "/keys/nf", atomically: true, encoding: .utf8)
        let empty = try ws.billsync(["sync"])
        #expect(empty.status == 2)
        #expect(empty.stderr.contains("source nf-team.api_key_file: key file \(ws.root)/keys/nf is empty"))
    }
}

import BillSyncCore
import BillSyncTestSupport
import Foundation
import Testing

/// Bad responses and bad config: each has a clear message and an exit code, and loses nothing.
@Suite struct FailureTests {
    func workspace(_ sim: SimHarness, only source: String) throws -> Workspace {
        let ws = try Workspace(sim: sim)
        let blocks = ws.standardSources.components(separatedBy: "[[sources]]").filter {
            $0.contains("name = \"\(source)\"")
        }
        try ws.writeConfig(sources: "[[sources]]" + blocks[0])
        return ws
    }

    /// The `error=` value of the sync.failed line.
    func failure(_ r: ProcessResult) -> String {
        r.stderr.split(separator: "\n").first { $0.contains("event=sync.failed") }.map(String.init)
            ?? "(no sync.failed line)\n" + r.stderr
    }

    @Test func malformedJSONStopsTheSourceWithExit1() throws {
        let sim = try SimHarness()
        let ws = try workspace(sim, only: "usageflow")
        try sim.fault("path=/api/invoices&kind=malformed&count=1")
        let r = try ws.billsync(["sync"])
        #expect(r.status == 1)
        #expect(failure(r).contains("error=\"GET /api/invoices: response is not valid JSON: malformed JSON at byte"))
        #expect(r.stderr.contains("source=usageflow event=sync.failed"))
    }

    @Test func aMissingRequiredFieldNamesTheField() throws {
        let sim = try SimHarness()
        let ws = try workspace(sim, only: "usageflow")
        try sim.fault("path=/api/invoices&kind=missing-field&count=1")
        let r = try ws.billsync(["sync"])
        #expect(r.status == 1)
        #expect(
            failure(r).contains(
                "error=\"GET /api/invoices: unexpected response: field $.invoices[0].amount: required field is missing\""
            ))
        #expect(try ws.csv("invoices.csv").isEmpty)
    }

    @Test func aTruncatedBodyIsRetriedAndPersistentTruncationFails() throws {
        let sim = try SimHarness()
        let ws = try workspace(sim, only: "usageflow")
        try sim.fault("path=/api/invoices&kind=truncated&count=1")
        let once = try ws.billsync(["sync"])
        #expect(once.status == 0, "\(once.stderr)")
        #expect(once.stderr.contains("event=request.retry"))
        try sim.fault("path=/api/invoices&kind=truncated&count=50")
        let always = try ws.billsync(["sync"])
        #expect(always.status == 1)
        #expect(failure(always).contains("error=\"GET /api/invoices: gave up after 4 attempts:"))
    }

    @Test func aRepeatingCursorStopsTheSource() throws {
        let sim = try SimHarness { $0.historyDays = 400 }
        let ws = try workspace(sim, only: "nf-team")
        try sim.fault("path=/v1/teams/team-1/billing/invoices&kind=repeat-cursor&count=5")
        let r = try ws.billsync(["sync"])
        #expect(r.status == 1)
        #expect(failure(r).contains("GET /v1/teams/team-1/billing/invoices: pagination cursor"))
        #expect(failure(r).contains("repeated; stopping to avoid a loop"))
    }

    @Test func http401NamesTheKeyProblemWithoutTheKey() throws {
        let sim = try SimHarness()
        let ws = try workspace(sim, only: "nf-team")
        try "wrong-key-0123456789\n".write(toFile: ws.root + "/keys/nf", atomically: true, encoding: .utf8)
        let r = try ws.billsync(["sync"])
        #expect(r.status == 1)
        #expect(
            failure(r).contains(
                "error=\"GET /v1/teams/team-1/billing/invoices: HTTP 401: Unauthenticated (check the API key)\""))
        #expect(!r.stderr.contains("wrong-key-0123456789"))
        let status = try ws.billsync(["status", "--json"])
        #expect(status.stdout.contains("HTTP 401: Unauthenticated"))
        #expect(!status.stdout.contains("wrong-key-0123456789"))
    }

    @Test func http404NamesTheEndpoint() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig(
            sources: """
                [[sources]]
                name = "nf"
                provider = "northflank"
                api_key_file = "\(ws.root)/keys/nf"
                base_url = "\(sim.base)"
                team = "team-99"
                rate_limit = "none"
                """)
        let r = try ws.billsync(["sync"])
        #expect(r.status == 1)
        #expect(
            failure(r).contains(
                "error=\"GET /v1/teams/team-99/billing/invoices: HTTP 404: Team not found (check base_url and team)\""))
    }

    @Test func oneFailingSourceDoesNotStopTheOthers() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig()
        try sim.fault("path=/api/v1/invoices&kind=status&code=403&message=Forbidden&count=100")
        let r = try ws.billsync(["sync"])
        #expect(r.status == 1)
        let sources = Set(try ws.csv("invoices.csv").map { $0["source"]! })
        #expect(sources == ["nf-team", "nf-org", "usageflow"])
    }

    @Test func aFaultMidWalkKeepsTheCommittedPagesAndTheRerunResumes() throws {
        let sim = try SimHarness { $0.typesenseInvoices = 180 }
        let ws = try workspace(sim, only: "typesense")
        // Pages 1 and 2 with their 100 details go through; page 3 fails.
        try sim.fault("path=/api/v1/invoices&kind=status&code=400&message=bad&after=102&count=1")
        let first = try ws.billsync(["sync"])
        #expect(first.status == 1)
        #expect(first.stderr.contains("error=\"GET /api/v1/invoices: HTTP 400: bad\""))
        let status = try ws.billsync(["status", "--json"])
        #expect(status.stdout.contains("\"invoices\":100,"), "\(status.stdout)")
        #expect(status.stdout.contains("\"invoice_walk\":{\"active\":true,\"cursor\":\"3\""))
        try sim.delete("/_sim/faults")
        try sim.resetCounts()
        let second = try ws.billsync(["sync"])
        #expect(second.status == 0, "\(second.stderr)")
        let counts = try sim.endpointCounts()
        // Pages 3 and 4 with their 80 details, then the head page once: pages 1 and 2 are not walked again.
        #expect(counts["GET /api/v1/invoices"] == 3)
        #expect(counts["GET /api/v1/invoices/{id}"] == 80)
        #expect(try ws.csv("invoices.csv").count == 180)
    }

    // MARK: - Config errors: exit 2 with file, key and problem

    func configProblem(_ mutate: (Workspace) throws -> Void, command: [String] = ["sync"]) throws -> ProcessResult {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig()
        try mutate(ws)
        return try ws.billsync(command)
    }

    func replaceInConfig(_ ws: Workspace, _ old: String, _ new: String) throws {
        let text = try String(contentsOfFile: ws.configPath, encoding: .utf8)
        try text.replacingOccurrences(of: old, with: new).write(
            toFile: ws.configPath, atomically: true, encoding: .utf8)
    }

    @Test func unknownConfigKey() throws {
        var path = ""
        let r = try configProblem { ws in
            path = ws.configPath
            try replaceInConfig(ws, "exports = [\"csv\"]", "exports = [\"csv\"]\npol_interval = \"1h\"")
        }
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("billsync: error: \(path): pol_interval: unknown key (allowed:"))
    }

    @Test func missingKeyFile() throws {
        var root = ""
        let r = try configProblem { ws in
            root = ws.root
            try FileManager.default.removeItem(atPath: ws.root + "/keys/ts")
        }
        #expect(r.status == 2)
        #expect(r.stderr.contains("source typesense.api_key_file: key file \(root)/keys/ts does not exist"))
        let check = try configProblem(
            { ws in
                root = ws.root
                try FileManager.default.removeItem(atPath: ws.root + "/keys/ts")
            }, command: ["check"])
        #expect(check.status == 2)
        #expect(check.stderr.contains("source typesense.api_key_file: key file \(root)/keys/ts does not exist"))
    }

    @Test func badDuration() throws {
        let r = try configProblem { ws in
            try replaceInConfig(ws, "request_timeout = \"5s\"", "request_timeout = \"5 seconds\"")
        }
        #expect(r.status == 2)
        #expect(r.stderr.contains(": request_timeout: \"5 seconds\" is not a duration"))
    }

    @Test func duplicateSourceNames() throws {
        let r = try configProblem { ws in try replaceInConfig(ws, "name = \"nf-org\"", "name = \"nf-team\"") }
        #expect(r.status == 2)
        #expect(r.stderr.contains(": sources[1].name: duplicate source name \"nf-team\" (names must be unique)"))
    }

    @Test func plainHTTPToANonLoopbackHost() throws {
        let r = try configProblem { ws in
            try replaceInConfig(
                ws, "base_url = \"\(ws.sim.base)\"\ncurrency", "base_url = \"http://billing.example.com\"\ncurrency")
        }
        #expect(r.status == 2)
        #expect(
            r.stderr.contains(
                ": sources[3].base_url: http:// is only allowed for loopback hosts; use https:// for billing.example.com"
            ))
    }

    @Test func checkPassesOnAGoodConfig() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig()
        let r = try ws.billsync(["check"])
        #expect(r.status == 0)
        #expect(
            r.stdout
                == "\(ws.configPath): OK, 4 sources: nf-team (northflank), nf-org (northflank), typesense (typesense-cloud), usageflow (usageflow)\n"
        )
    }

    @Test func aSecondInstanceExits3() throws {
        let sim = try SimHarness { $0.latencyMs = 300 }
        let ws = try workspace(sim, only: "usageflow")
        let first = try ws.startBillsync(["sync"])
        #expect(first.waitForEvent("sync.started", timeout: 10))
        let second = try ws.billsync(["sync"])
        first.process.waitUntilExit()
        #expect(second.status == 3)
        #expect(
            second.stderr.contains("another billsync (pid \(first.process.processIdentifier)) holds the state lock"))
    }
}

import BillSyncCore
import BillSyncSimulator
import BillSyncTestSupport
import Foundation
import Testing

/// Rate limits as the server states them, against the real binary over loopback: 429s waited
/// out as long as they ask and no longer, the server's remaining count adopted, and the bounds
/// that fail a source when a server asks for too much.
@Suite struct RateLimitTests {
    /// One source, with the provider's documented limit unless `extra` sets another.
    func source(_ ws: Workspace, _ name: String, extra: String = "") -> String {
        let block = ws.standardSources.components(separatedBy: "[[sources]]").first {
            $0.contains("name = \"\(name)\"")
        }!
        return "[[sources]]"
            + block.replacingOccurrences(of: "rate_limit = \"none\"\n", with: extra.isEmpty ? "" : extra + "\n")
    }

    func events(_ r: ProcessResult, _ event: String) -> [[String: String]] {
        r.stderr.split(separator: "\n").compactMap { parseLogfmt(String($0)) }.filter { $0["event"] == event }
    }

    /// Every `ratelimit.wait`, in seconds, split into the 429s' (what the server asked) and the others.
    func waits(_ r: ProcessResult) -> (asked: [Double], pacing: [Double]) {
        let all = events(r, "ratelimit.wait").map { ($0["reason"] ?? "", (Double($0["wait_ms"] ?? "") ?? -1) / 1000) }
        return (all.filter { $0.0 == "HTTP 429" }.map(\.1), all.filter { $0.0 != "HTTP 429" }.map(\.1))
    }

    func statusCount(_ sim: SimHarness, _ status: String) throws -> Int {
        guard case .object(let byStatus) = try sim.json("/_sim/requests").require("statuses").value,
            case .number(let n)? = byStatus[status]
        else { return 0 }
        return Int(n) ?? 0
    }

    func expectComplete(_ ws: Workspace, _ sim: SimHarness, truth: String, source: String) throws {
        let expected = try sim.json("/_sim/truth/invoices?provider=\(truth)").array().map {
            try $0.require("id").text()
        }
        let rows = try ws.csv("invoices.csv").filter { $0["source"] == source }.map { $0["invoice_id"]! }
        #expect(rows.count == expected.count, "lost or duplicated invoices")
        #expect(Set(rows) == Set(expected))
    }

    func timed(_ body: () throws -> ProcessResult) rethrows -> (ProcessResult, Double) {
        let started = monotonicSeconds()
        let r = try body()
        return (r, monotonicSeconds() - started)
    }

    @Test func northflank429BurstsAreWaitedOutAsAskedAtTheDocumentedLimit() throws {
        let sim = try SimHarness { $0.rateLimits = true }
        let ws = try Workspace(sim: sim)
        try ws.writeConfig(sources: source(ws, "nf-team"))
        let usage = "path=/v1/teams/team-1/billing/usage"
        for fault in [
            "path=/v1/teams/team-1/billing/invoices&kind=retry-after&value=2&count=1",
            "\(usage)&kind=retry-after&value=1&count=2&after=1",
            "\(usage)&kind=ratelimit-reset&value=2&count=2&after=3",
            "\(usage)&kind=retry-after-date&value=2&count=1&after=5",
            "\(usage)&kind=retry-after&value=1&count=1&after=6",
        ] {
            try sim.fault(fault)
        }
        try sim.resetCounts()
        let (r, elapsed) = try timed { try ws.billsync(["sync"]) }
        #expect(r.status == 0, "\(r.stderr)")
        let (asked, pacing) = waits(r)
        #expect(asked.count == 7)
        #expect(try statusCount(sim, "429") == 7, "billsync provoked a 429 of its own")
        for wait in pacing { #expect(wait <= asked.max()! + 1, "a pacing wait of \(wait) s") }
        let sum = asked.reduce(0, +)
        #expect(elapsed <= sum * 1.2, "took \(elapsed) s; the server asked for \(sum) s")
        #expect(events(r, "request.retry").isEmpty, "a 429 was treated as a failure")
        try expectComplete(ws, sim, truth: "northflank&account=team-1", source: "nf-team")
        print(
            "rate limits: northflank 1000/1h: 7 x 429 asking \(sum) s in all; sync \(String(format: "%.2f", elapsed)) s; pacing waits \(pacing)"
        )
    }

    @Test func typesense429sAtItsScaledLimitNeverGiveUpWhileEachWaitIsWithinTheBound() throws {
        // 30 requests per minute, scaled 60 times: 30 per second, on both sides.
        let sim = try SimHarness {
            $0.rateLimits = true
            $0.rateScale = 60
            $0.typesenseInvoices = 90
        }
        let ws = try Workspace(sim: sim)
        try ws.writeConfig(sources: source(ws, "typesense", extra: "rate_limit = \"30/1s\""))
        // Six in a row on the first page: more than retry_max_attempts (4), each a 1 s wait.
        try sim.fault("path=/api/v1/invoices?page=1&kind=retry-after&value=1&count=6")
        try sim.fault("path=/api/v1/invoices/&kind=retry-after&value=1&count=2&after=30")
        try sim.fault("path=/api/v1/invoices/&kind=retry-after&value=2&count=1&after=60")
        try sim.resetCounts()
        let (r, elapsed) = try timed { try ws.billsync(["sync"]) }
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("gave up"))
        let (asked, pacing) = waits(r)
        #expect(asked.count == 9)
        #expect(try statusCount(sim, "429") == 9, "billsync went past the simulator's window")
        for wait in pacing { #expect(wait <= asked.max()! + 1, "a pacing wait of \(wait) s") }
        let requests = try sim.totalRequests()
        #expect(requests == 2 + 90 + 9)
        // The waits asked, plus the time the limit itself needs for every request (with its margin).
        let floor = asked.reduce(0, +) + Double(requests) / 30 * 1.02
        #expect(elapsed <= floor * 1.2, "took \(elapsed) s against \(floor) s")
        try expectComplete(ws, sim, truth: "typesense", source: "typesense")
        print(
            "rate limits: typesense 30/1m x60: 9 x 429 asking \(asked.reduce(0, +)) s, \(requests) requests; sync \(String(format: "%.2f", elapsed)) s against \(String(format: "%.2f", floor)) s"
        )
    }

    @Test func usageflow429sInARowPastTheRetryBudgetAreWaitedOut() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig(sources: source(ws, "usageflow"))  // 60/1m, billsync's default for UsageFlow
        try sim.fault("path=/api/invoices&kind=retry-after&value=1&count=7")
        let (r, elapsed) = try timed { try ws.billsync(["sync"]) }
        #expect(r.status == 0, "\(r.stderr)")
        let (asked, pacing) = waits(r)
        #expect(asked == Array(repeating: 1, count: 7))
        #expect(pacing.isEmpty, "paced after a 429: \(pacing)")
        #expect(elapsed <= 7 * 1.2)
        try expectComplete(ws, sim, truth: "usageflow", source: "usageflow")
        print(
            "rate limits: usageflow 60/1m: 7 x 429 in a row on one request (retry_max_attempts 4), sync \(String(format: "%.2f", elapsed)) s, no pacing wait"
        )
    }

    @Test func aServerAskingForMoreThanTheBoundsFailsTheSourceNamingTheWaitAndTheBound() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        // One wait longer than max_rate_limit_wait (Typesense's documented minute).
        try ws.writeConfig(sources: source(ws, "typesense"))
        try sim.fault("path=/api/v1/invoices&kind=retry-after&value=120&count=1")
        let (long, quick) = try timed { try ws.billsync(["sync"]) }
        #expect(long.status == 1)
        #expect(
            events(long, "sync.failed").first?["error"]
                == "GET /api/v1/invoices: rate limited: the server asked for a wait of 120 s (Retry-After), longer than max_rate_limit_wait (60 s)"
        )
        #expect(quick < 5, "slept before failing")

        // Twenty 429s in a row for one request: the cap, whatever they ask. Nineteen pass.
        try ws.writeConfig(sources: source(ws, "usageflow"))
        try sim.fault("path=/api/invoices&kind=retry-after&value=0&count=19")
        #expect(try ws.billsync(["sync"]).status == 0)
        try sim.fault("path=/api/invoices&kind=retry-after&value=0&count=20")
        let often = try ws.billsync(["sync"])
        #expect(often.status == 1)
        #expect(
            events(often, "sync.failed").first?["error"]
                == "GET /api/invoices: rate limited 20 times in a row for one request (the cap); the last 429 asked for 0 s"
        )
        #expect(try sim.json("/_sim/faults").array().isEmpty, "the cap came before all twenty 429s")
    }

    @Test func waitsThatAddUpPastTheBoundFailTheSource() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig(sources: source(ws, "usageflow"), extra: "max_rate_limit_wait = \"3s\"")
        try sim.fault("path=/api/invoices&kind=retry-after&value=2&count=2")
        let r = try ws.billsync(["sync"])
        #expect(r.status == 1)
        #expect(waits(r).asked == [2])
        #expect(
            events(r, "sync.failed").first?["error"]
                == "GET /api/invoices: rate limited: the server's waits for one request add up to 4 s, more than max_rate_limit_wait (3 s)"
        )
    }

    @Test func aRemainingCountOfTwoLetsTwoRequestsGoAndTheThirdWaitsForTheReset() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig(sources: source(ws, "nf-team"))  // 1000/1h, far from full on its own
        // Another client of the same token has used the window: 2 left after this request, for 30 s.
        try sim.fault("path=/v1/teams/team-1/billing/invoices&kind=ratelimit-shared&allow=2&value=30&count=1")
        try sim.resetCounts()
        let r = try ws.billsync(["sync"])
        #expect(r.status == 0, "\(r.stderr)")
        let arrivals = try sim.get("/_sim/requests/log?times=1").split(separator: "\n").map {
            Int($0.split(separator: " ")[0])!
        }
        #expect(arrivals.count >= 5)
        let first = arrivals[0]
        #expect(arrivals[1] - first < 1000 && arrivals[2] - first < 1000, "\(arrivals)")
        #expect(
            (30_000...31_500).contains(arrivals[3] - first),
            "the third went out \(arrivals[3] - first) ms after the statement")
        let waited = events(r, "ratelimit.wait").filter { $0["reason"] == "x-ratelimit-remaining" }
        #expect(waited.count == 1)
        #expect((28_500...30_000).contains(Int(waited.first?["wait_ms"] ?? "") ?? 0))
        #expect(try statusCount(sim, "429") == 0)
        print(
            "rate limits: x-ratelimit-remaining 2, reset 30 s: requests 2 and 3 went out after \(arrivals[1] - first) and \(arrivals[2] - first) ms, the next after \(arrivals[3] - first) ms; 0 x 429"
        )
    }

    @Test func aResetLongerThanTheBoundOnAnOrdinaryAnswerFailsTheSource() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig(sources: source(ws, "nf-team"), extra: "max_rate_limit_wait = \"10m\"")
        try sim.fault("path=/v1/teams/team-1/billing/invoices&kind=ratelimit-shared&allow=0&value=1800&count=1")
        let (r, elapsed) = try timed { try ws.billsync(["sync"]) }
        #expect(r.status == 1)
        #expect(
            events(r, "sync.failed").first?["error"]
                == "GET /v1/teams/team-1/billing/usage: rate limited: the server asked for a wait of 1800 s (x-ratelimit-reset), longer than max_rate_limit_wait (600 s)"
        )
        #expect(elapsed < 5)
    }
}

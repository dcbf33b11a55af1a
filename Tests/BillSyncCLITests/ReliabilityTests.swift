import BillSyncCore
import BillSyncTestSupport
import Foundation
import Testing

/// The figures in RELIABILITY.md come from these tests' `reliability:` lines.
@Suite struct ReliabilityTests {
    static func largeSources(_ ws: Workspace) -> String {
        ws.standardSources.replacingOccurrences(of: Workspace.usageStart, with: "2024-09-01")
    }

    static func status(_ ws: Workspace) throws -> JSONField {
        JSONField(try JSONValue.parse(try ws.billsync(["status", "--json"]).stdout))
    }

    /// Rows per source in the store, from `status --json`.
    static func committedRows(_ ws: Workspace) throws -> Int {
        try status(ws).require("sources").array().reduce(0) { total, s in
            let rows = try s.require("rows")
            return total + Int(try rows.require("invoices").int64()) + Int(try rows.require("usage_hours").int64())
        }
    }

    @Test func killedAtTwentyRandomMomentsEveryRestartResumesAndTheEndIsByteIdentical() throws {
        let sim = try SimHarness {
            $0.historyDays = 800
            $0.typesenseInvoices = 1200
            $0.latencyMs = 1
        }
        let clean = try Workspace(sim: sim)
        try clean.writeConfig(sources: Self.largeSources(clean))
        try sim.resetCounts()
        #expect(try clean.billsync(["sync"]).status == 0)
        let full = try sim.totalRequests()
        let expected = try clean.exportContents()
        let expectedRows = try Self.committedRows(clean)

        let ws = try Workspace(sim: sim)
        try ws.writeConfig(sources: Self.largeSources(ws))
        var dice = Dice(state: 7_000_001)
        var kills = 0
        var spent = 0
        var committed = 0
        for _ in 0..<20 {
            try sim.resetCounts()
            let threshold = 3 + dice.below(25)
            let run = try ws.startBillsync(["sync"])
            while run.process.isRunning, (try sim.totalRequests()) < threshold { usleep(2000) }
            if run.process.isRunning {
                kill(run.process.processIdentifier, SIGKILL)
                kills += 1
            }
            run.process.waitUntilExit()
            _ = run.result()
            spent += try sim.totalRequests()
            let now = try Self.committedRows(ws)
            #expect(now >= committed, "committed rows went back after a kill")
            committed = now
        }
        #expect(kills == 20, "a kill landed after the sync had finished")
        // A kill during an export leaves its temporary file; the next export removes it.
        _ = FileManager.default.createFile(
            atPath: ws.exportDir + "/.invoices.csv.tmp-99999", contents: Data("half".utf8))
        _ = FileManager.default.createFile(
            atPath: ws.exportDir + "/usage/.2025-01.csv.tmp-99999", contents: Data("half".utf8))
        try sim.resetCounts()
        let last = try ws.billsync(["sync"])
        #expect(last.status == 0, "\(last.stderr)")
        let rerun = try sim.totalRequests()
        spent += rerun
        #expect(rerun < full, "the last run started from scratch")
        // Each restart re-does at most the requests in flight when it was killed, the head page of
        // each invoice list and, near the end, the usage lookback.
        #expect(spent <= full + kills * 15, "\(spent) requests over all runs, \(full) for a clean run")
        let got = try ws.exportContents()
        #expect(Set(got.keys) == Set(expected.keys))
        for (name, bytes) in expected { #expect(got[name] == bytes, "\(name) differs from the clean run") }
        let rows = try Self.committedRows(ws)
        #expect(rows == expectedRows)
        print(
            "reliability: crash: \(kills) SIGKILLs at random request counts; \(spent) requests over all runs vs \(full) for one clean run; last run \(rerun); rows \(rows) of \(expectedRows): lost 0, duplicated 0; exports byte-identical"
        )
    }

    @Test func randomFaultsEverywhereLoseAndDuplicateNothing() throws {
        let sim = try SimHarness {
            $0.historyDays = 200
            $0.typesenseInvoices = 150
            $0.errorRate = 0.15
        }
        let clean = try Workspace(
            sim: try SimHarness {
                $0.historyDays = 200
                $0.typesenseInvoices = 150
            })
        try clean.writeConfig(
            sources: clean.standardSources.replacingOccurrences(of: Workspace.usageStart, with: "2026-05-01"))
        #expect(try clean.billsync(["sync"]).status == 0)
        let ws = try Workspace(sim: sim)
        try ws.writeConfig(
            sources: ws.standardSources.replacingOccurrences(of: Workspace.usageStart, with: "2026-05-01"))
        for (i, kind) in [
            "reset", "truncated", "retry-after", "ratelimit-reset", "status&code=502&message=x", "reset", "truncated",
        ].enumerated() {
            try sim.fault("path=/&kind=\(kind)&value=1&after=\(i * 40)&count=1")
        }
        try sim.resetCounts()
        var retries = 0
        var waits = 0
        var runs = 0
        var finished = false
        while !finished && runs < 6 {
            runs += 1
            let r = try ws.billsync(["sync"])
            retries += r.stderr.components(separatedBy: "event=request.retry").count - 1
            waits += r.stderr.components(separatedBy: "event=ratelimit.wait").count - 1
            finished = r.status == 0
        }
        #expect(finished, "still failing after \(runs) runs")
        let statuses = try sim.json("/_sim/requests").require("statuses")
        guard case .object(let byStatus) = statuses.value else {
            Issue.record("no statuses")
            return
        }
        let faults =
            byStatus.filter { $0.key != "200" }.reduce(0) { total, entry in
                if case .number(let n) = entry.value { return total + (Int(n) ?? 0) }
                return total
            } + 2  // the two truncated bodies answer 200
        let got = try ws.exportContents()
        let expected = try clean.exportContents()
        #expect(got == expected)
        let invoices = try ws.csv("invoices.csv").count
        #expect(invoices == (try clean.csv("invoices.csv")).count)
        print(
            "reliability: soak: \(faults) faults injected (5xx at 15 % plus resets, truncations, 429s), \(retries) retries, \(waits) rate-limit waits, \(runs) run(s); \(invoices) invoices and every usage hour: lost 0, duplicated 0; exports byte-identical to a fault-free run"
        )
    }

    @Test func threeRunsUnderServerErrors429sAndMalformedBodiesConvergeOnTheTruthInBoundedTime() throws {
        let faulty = try SimHarness { $0.errorRate = 0.2 }
        let ws = try Workspace(sim: faulty)
        // Backoff kept short, so that a run's time is the server's doing; attempts enough that a
        // fifth of requests failing never exhausts them (0.2^8 per request).
        func writeConfig(_ ws: Workspace) throws {
            try ws.writeConfig()
            let text = try String(contentsOfFile: ws.configPath, encoding: .utf8)
                .replacingOccurrences(of: "retry_base_delay = \"10ms\"", with: "retry_base_delay = \"1ms\"")
                .replacingOccurrences(of: "retry_max_delay = \"50ms\"", with: "retry_max_delay = \"5ms\"")
                .replacingOccurrences(of: "retry_max_attempts = 4", with: "retry_max_attempts = 8")
            try text.write(toFile: ws.configPath, atomically: true, encoding: .utf8)
        }
        try writeConfig(ws)
        for fault in [
            "path=/v1/billing/usage&kind=retry-after&value=1&count=3&after=2",
            "path=/v1/teams/team-1/billing/usage&kind=ratelimit-reset&value=1&count=2&after=4",
            "path=/api/v1/invoices/&kind=retry-after-date&value=1&count=2&after=20",
            "path=/api/invoices&kind=retry-after&value=1&count=2",
            "path=/api/v1/invoices?page=2&kind=malformed&count=1",
            "path=/v1/teams/team-1/billing/usage&kind=malformed&count=1&after=5",
        ] {
            try faulty.fault(fault)
        }
        var statuses: [Int32] = []
        var report: [String] = []
        var clean: Workspace!
        for run in 1...3 {
            // A fault-free full sync just before, under the same load, is the yardstick.
            clean = try Workspace(sim: try SimHarness())
            try writeConfig(clean)
            let cleanStart = monotonicSeconds()
            #expect(try clean.billsync(["sync"]).status == 0)
            let fair = monotonicSeconds() - cleanStart
            let started = monotonicSeconds()
            let r = try ws.billsync(["sync"])
            let took = monotonicSeconds() - started
            statuses.append(r.status)
            let asked = r.stderr.split(separator: "\n").compactMap { parseLogfmt(String($0)) }
                .filter { $0["event"] == "ratelimit.wait" && $0["reason"] == "HTTP 429" }
                .reduce(0.0) { $0 + (Double($1["wait_ms"] ?? "") ?? 0) / 1000 }
            #expect(
                took <= 2 * fair + asked,
                "run \(run) took \(took) s; fault-free \(fair) s, the server asked for \(asked) s")
            report.append(
                String(
                    format: "run %d: %.2f s (exit %d; fault-free %.2f s, asked %.1f s)", run, took, r.status, fair,
                    asked))
        }
        #expect(statuses.last == 0, "the third run still failed: \(statuses)")
        #expect(statuses.first == 1, "the malformed bodies failed nothing")
        // Nothing lost or duplicated: the exports are those of the fault-free sync, byte for byte,
        // and every invoice of the truth is there once.
        let (mine, theirs) = (try ws.exportContents(), try clean.exportContents())
        #expect(mine.keys.sorted() == theirs.keys.sorted())
        #expect(mine.filter { theirs[$0.key] != $0.value }.keys.sorted() == [], "files that differ")
        let rows = try ws.csv("invoices.csv")
        #expect(Set(rows.map { $0["source"]! + "/" + $0["invoice_id"]! }).count == rows.count)
        for (truth, source) in [
            ("northflank&account=team-1", "nf-team"), ("northflank", "nf-org"), ("typesense", "typesense"),
            ("usageflow", "usageflow"),
        ] {
            let ids = try faulty.json("/_sim/truth/invoices?provider=\(truth)").array().map {
                try $0.require("id").text()
            }
            #expect(Set(rows.filter { $0["source"] == source }.map { $0["invoice_id"]! }) == Set(ids), "\(source)")
        }
        let served = try faulty.json("/_sim/requests").require("statuses")
        guard case .object(let byStatus) = served.value else { return }
        let errors = byStatus.filter { $0.key.hasPrefix("5") }.reduce(0) { n, e in
            if case .number(let v) = e.value { return n + (Int(v) ?? 0) }
            return n
        }
        let total = try faulty.totalRequests()
        print(
            "reliability: convergence: 5xx on 20 % (\(errors) of \(total) requests), 11 x 429, 2 malformed bodies; exits \(statuses); "
                + report.joined(separator: "; ") + "; exports byte-identical to a fault-free sync")
    }

    @Test func aFullExportDirectoryKeepsTheOldFilesAndTheNextRunRecovers() throws {
        let sim = try SimHarness { $0.historyDays = 200 }
        let ws = try Workspace(sim: sim)
        try FileManager.default.createDirectory(atPath: ws.exportDir, withIntermediateDirectories: true)
        let mounted =
            (try? runProcess("/bin/mount", ["-t", "tmpfs", "-o", "size=96k", "tmpfs", ws.exportDir]))?.status == 0
        defer { if mounted { _ = try? runProcess("/bin/umount", [ws.exportDir]) } }
        let usageflow =
            "[[sources]]" + ws.standardSources.components(separatedBy: "[[sources]]").first {
                $0.contains("name = \"usageflow\"")
            }!
        try ws.writeConfig(sources: usageflow)
        #expect(try ws.billsync(["sync"]).status == 0)
        let before = try ws.exportContents()
        #expect(before.keys.contains("invoices.csv"))

        // Now everything: far more than the directory can hold (or, without tmpfs, a usage/ that cannot be created).
        try ws.writeConfig(
            sources: ws.standardSources.replacingOccurrences(of: Workspace.usageStart, with: "2026-05-01"))
        if !mounted {
            _ = FileManager.default.createFile(atPath: ws.exportDir + "/usage", contents: Data("in the way".utf8))
        }
        let full = try ws.billsync(["sync"])
        #expect(full.status == 1)
        let failure =
            full.stderr.split(separator: "\n").first { $0.contains("event=export.failed") }.map(String.init) ?? ""
        #expect(failure.contains(mounted ? "No space left on device" : "cannot create the directory"), "\(full.stderr)")
        // No partial or temporary file; every file is complete (its old or its new content).
        let after = try ws.exportContents()
        #expect(!after.keys.contains { $0.contains(".tmp-") })
        for (name, bytes) in after where name.hasSuffix(".csv") {
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.hasSuffix("\r\n"), "\(name) is cut short")
        }
        for name in before.keys { #expect(after[name] != nil, "\(name) disappeared") }
        #expect(
            after["invoices.csv"] == before["invoices.csv"]
                || (after["invoices.csv"].map { String(decoding: $0, as: UTF8.self).contains("nf-team") } ?? false))
        // The store is consistent: all four sources synced.
        let rows = try Self.status(ws).require("sources").array().map {
            Int(try $0.require("rows").require("invoices").int64())
        }
        #expect(rows.count == 4 && rows.allSatisfy { $0 > 0 })

        if mounted {
            #expect(try runProcess("/bin/mount", ["-o", "remount,size=64m", ws.exportDir]).status == 0)
        } else {
            try FileManager.default.removeItem(atPath: ws.exportDir + "/usage")
        }
        let recovered = try ws.billsync(["sync"])
        #expect(recovered.status == 0, "\(recovered.stderr)")
        let clean = try Workspace(sim: sim)
        try clean.writeConfig(
            sources: clean.standardSources.replacingOccurrences(of: Workspace.usageStart, with: "2026-05-01"))
        #expect(try clean.billsync(["sync"]).status == 0)
        let (mine, theirs) = (try ws.exportContents(), try clean.exportContents())
        #expect(mine.keys.sorted() == theirs.keys.sorted())
        #expect(mine.filter { theirs[$0.key] != $0.value }.keys.sorted() == [], "files that differ")
        print(
            "reliability: full disk: \(mounted ? "96 KiB tmpfs" : "blocked usage/ directory") → export.failed, no partial file, store intact; recovered on the next run"
        )
    }
}

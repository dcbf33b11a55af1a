import BillSyncCore
import BillSyncTestSupport
import Foundation
import Testing

/// kill -9 at several points of a sync: the rerun resumes from the last committed page and
/// ends with exports byte-identical to an uninterrupted run.
@Suite struct CrashTests {
    @Test func aSyncKilledAtSeveralPointsResumesAndEndsByteIdentical() throws {
        let sim = try SimHarness {
            $0.historyDays = 200
            $0.typesenseInvoices = 150
            $0.latencyMs = 1
        }
        let sources = { (ws: Workspace) in
            ws.standardSources.replacingOccurrences(of: Workspace.usageStart, with: "2026-05-01")
        }

        let clean = try Workspace(sim: sim)
        try clean.writeConfig(sources: sources(clean))
        try sim.resetCounts()
        #expect(try clean.billsync(["sync"]).status == 0)
        let fullRequests = try sim.totalRequests()
        let expected = try clean.exportContents()
        #expect(expected.count >= 8)

        let crashed = try Workspace(sim: sim)
        try crashed.writeConfig(sources: sources(crashed))
        var kills = 0
        for killAfter in [3, 30, 50, 70] {
            try sim.resetCounts()
            let process = try crashed.startBillsync(["sync"])
            let deadline = Date().addingTimeInterval(60)
            while process.process.isRunning, Date() < deadline, (try sim.totalRequests()) < killAfter {
                Thread.sleep(forTimeInterval: 0.005)
            }
            if process.process.isRunning {
                kill(process.process.processIdentifier, SIGKILL)
                kills += 1
            }
            process.process.waitUntilExit()
            _ = process.result()
        }
        #expect(kills >= 3)
        try sim.resetCounts()
        let rerun = try crashed.billsync(["sync"])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let rerunRequests = try sim.totalRequests()
        #expect(
            rerunRequests < fullRequests,
            "the rerun started from scratch (\(rerunRequests) of \(fullRequests) requests)")
        let got = try crashed.exportContents()
        #expect(Set(got.keys) == Set(expected.keys))
        for (name, bytes) in expected { #expect(got[name] == bytes, "\(name) differs from the uninterrupted run") }
    }
}

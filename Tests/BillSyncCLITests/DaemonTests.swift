import BillSyncCore
import BillSyncTestSupport
import Foundation
import Testing

/// `billsync run` as systemd runs it: notify socket, watchdog, signals, logs.
@Suite struct DaemonTests {
    @Test func unitFilesVerifyAndAreHardened() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/bs-units-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        for unit in ["billsync.service", "billsync-sync.service", "billsync-sync.timer"] {
            // verify wants ExecStart's binary to exist: point the copies at the built one.
            let text = try String(contentsOfFile: root + "/systemd/" + unit, encoding: .utf8)
            try text.replacingOccurrences(of: "/usr/local/bin/billsync", with: binDir + "/billsync")
                .write(toFile: dir + "/" + unit, atomically: true, encoding: .utf8)
        }
        let verify = try runProcess(
            "/usr/bin/systemd-analyze",
            ["verify", dir + "/billsync.service", dir + "/billsync-sync.service", dir + "/billsync-sync.timer"])
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stderr.isEmpty, "\(verify.stderr)")
        let security = try runProcess(
            "/usr/bin/systemd-analyze", ["security", "--offline=yes", dir + "/billsync.service"])
        let line = security.stdout.split(separator: "\n").first {
            $0.contains("Overall exposure level for billsync.service:")
        }
        let level = line.flatMap { $0.split(separator: ":").last?.split(separator: " ").first }.flatMap { Double($0) }
        #expect(level != nil, "\(security.stdout)\(security.stderr)")
        #expect((level ?? 99) <= 2.0)
    }

    @Test func readyWatchdogAndStatusReachTheNotifySocket() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig(extra: "poll_interval = \"1h\"")
        let notify = try NotifyListener()
        let daemon = try startProcess(
            binDir + "/billsync", ["--config", ws.configPath, "run"],
            env: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000", "BILLSYNC_NOW": String(testNow)])
        #expect(notify.waitFor("READY=1", timeout: 10))
        #expect(notify.waitFor("STATUS=4 sources ok", timeout: 10))
        Thread.sleep(forTimeInterval: 1.5)
        daemon.signal(SIGTERM)
        let took = daemon.waitForExit(timeout: 10)
        #expect(took != nil)
        #expect(daemon.process.terminationStatus == 0)
        let pings = notify.messages.filter { $0.message.contains("WATCHDOG=1") }.map(\.at)
        #expect(pings.count >= 6, "\(pings.count) watchdog pings")
        if pings.count >= 2 {
            let gaps = zip(pings.dropFirst(), pings).map { $0.timeIntervalSince($1) }
            let mean = gaps.reduce(0, +) / Double(gaps.count)
            #expect(mean > 0.15 && mean < 0.3, "mean watchdog period \(mean) s, expected 0.2 s")
        }
        #expect(notify.messages.contains { $0.message.contains("STOPPING=1") })
        _ = daemon.result()
    }

    @Test func sighupReloadsTheConfigAndABrokenOneKeepsTheOldRunning() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        let usageflowOnly =
            "[[sources]]" + ws.standardSources.components(separatedBy: "[[sources]]").first {
                $0.contains("name = \"usageflow\"")
            }!
        try ws.writeConfig(sources: usageflowOnly, extra: "poll_interval = \"1h\"")
        let daemon = try ws.startBillsync(["run"])
        #expect(daemon.waitForEvent("sync.finished", timeout: 10))
        Thread.sleep(forTimeInterval: 0.5)
        #expect(daemon.lines(withEvent: "sync.finished").count == 1)

        try ws.writeConfig(sources: usageflowOnly, extra: "poll_interval = \"1s\"")
        daemon.signal(SIGHUP)
        #expect(daemon.waitForEvent("config.reloaded", timeout: 5))
        #expect(
            daemon.waitForEvent("sync.finished", count: 3, timeout: 6), "the new 1 s poll interval did not take effect")

        try "state_dir = [unclosed".write(toFile: ws.configPath, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        #expect(daemon.waitForEvent("config.reload_failed", timeout: 5))
        let failed = daemon.lines(withEvent: "config.reload_failed").first ?? ""
        #expect(failed.contains("TOML syntax error at line 1"), "\(failed)")
        #expect(failed.contains("kept=\"previous configuration\""))
        let before = daemon.lines(withEvent: "sync.finished").count
        #expect(
            daemon.waitForEvent("sync.finished", count: before + 2, timeout: 6),
            "the daemon stopped syncing after a bad reload")
        #expect(daemon.process.isRunning)
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 10) != nil)
        #expect(daemon.process.terminationStatus == 0)
        _ = daemon.result()
    }

    @Test func sigtermMidSyncExitsQuicklyAndTheNextRunResumesWithNothingLost() throws {
        let sim = try SimHarness {
            $0.historyDays = 400
            $0.typesenseInvoices = 200
            $0.latencyMs = 15
        }
        let sources = { (ws: Workspace) in
            ws.standardSources.replacingOccurrences(of: Workspace.usageStart, with: "2025-11-01")
        }
        let ws = try Workspace(sim: sim)
        try ws.writeConfig(sources: sources(ws))
        try sim.resetCounts()
        let daemon = try ws.startBillsync(["run"])
        let deadline = Date().addingTimeInterval(30)
        while (try sim.totalRequests()) < 60 && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        daemon.signal(SIGTERM)
        let took = daemon.waitForExit(timeout: 10)
        #expect(took != nil, "did not exit within 10 s")
        #expect((took ?? 99) < 10)
        #expect(daemon.process.terminationStatus == 0)
        #expect(daemon.waitForEvent("daemon.stopping", timeout: 1))
        #expect(!daemon.lines(withEvent: "sync.stopped").isEmpty, "no sync was interrupted")
        let firstRequests = try sim.totalRequests()
        _ = daemon.result()

        try sim.resetCounts()
        let rerun = try ws.billsync(["sync"])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let rerunRequests = try sim.totalRequests()

        let clean = try Workspace(sim: sim)
        try clean.writeConfig(sources: sources(clean))
        try sim.resetCounts()
        #expect(try clean.billsync(["sync"]).status == 0)
        let fullRequests = try sim.totalRequests()
        #expect(
            rerunRequests < fullRequests,
            "rerun \(rerunRequests) requests, full \(fullRequests), first run \(firstRequests)")
        #expect(try ws.exportContents() == clean.exportContents())
    }

    @Test func aOneShotSyncStopsCleanlyOnSIGTERM() throws {
        let sim = try SimHarness {
            $0.historyDays = 300
            $0.latencyMs = 10
        }
        let ws = try Workspace(sim: sim)
        try ws.writeConfig(
            sources: ws.standardSources.replacingOccurrences(of: Workspace.usageStart, with: "2026-01-01"))
        let sync = try ws.startBillsync(["sync"])
        let deadline = Date().addingTimeInterval(20)
        while (try sim.totalRequests()) < 20 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        sync.signal(SIGTERM)
        let took = sync.waitForExit(timeout: 10)
        #expect(took != nil && took! < 10)
        #expect(sync.process.terminationStatus == 0)
        #expect(sync.waitForEvent("sync.interrupted", timeout: 1))
        _ = sync.result()
        let rerun = try ws.billsync(["sync"])
        #expect(rerun.status == 0, "\(rerun.stderr)")
    }

    @Test func aSecondInstanceOnTheSameStateExits3NamingThePID() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig(extra: "poll_interval = \"1h\"")
        let daemon = try ws.startBillsync(["run"])
        #expect(daemon.waitForEvent("daemon.ready", timeout: 10))
        let second = try ws.billsync(["run"])
        #expect(second.status == 3)
        #expect(
            second.stderr.contains("another billsync (pid \(daemon.process.processIdentifier)) holds the state lock"))
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 10) != nil)
        _ = daemon.result()
    }

    @Test func aSourceFailingForeverIsBackedOffWhileTheOthersKeepSyncing() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try "not-the-key-7777\n".write(toFile: ws.root + "/keys/ts", atomically: true, encoding: .utf8)
        try ws.writeConfig(extra: "poll_interval = \"2s\"")
        try sim.resetCounts()
        let daemon = try ws.startBillsync(["run"])
        Thread.sleep(forTimeInterval: 9)
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 10) != nil)
        let counts = try sim.endpointCounts()
        let healthy = counts["GET /api/invoices"] ?? 0
        let failing = counts["GET /api/v1/invoices"] ?? 0
        // Healthy sources sync every 2 s (+ up to 10 % jitter): 4 or 5 times in 9 s.
        #expect(healthy >= 4 && healthy <= 6, "usageflow synced \(healthy) times")
        #expect((counts["GET /v1/teams/{team}/billing/invoices"] ?? 0) >= 4)
        // The failing one backs off 0.25 s, 0.5 s, 1 s, then every 2 s: bounded, not hammered.
        #expect(failing >= 4 && failing <= 8, "typesense was tried \(failing) times")
        let backoffs = daemon.lines(withEvent: "source.backoff").compactMap { parseLogfmt($0)?["retry_in_ms"] }
            .compactMap(Int.init)
        #expect(Array(backoffs.prefix(4)) == [250, 500, 1000, 2000])
        #expect(!daemon.stderrSoFar.contains("not-the-key-7777"))
        _ = daemon.result()
    }

    @Test(arguments: ["logfmt", "json"])
    func everyLogLineParsesCarriesEachEventAndNoKey(format: String) throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try "wrong-key-for-nf-org\n".write(toFile: ws.root + "/keys/nf2", atomically: true, encoding: .utf8)
        let sources = ws.standardSources.components(separatedBy: "[[sources]]").map { block in
            block.contains("name = \"nf-org\"")
                ? block.replacingOccurrences(of: "/keys/nf\"", with: "/keys/nf2\"") : block
        }.joined(separator: "[[sources]]")
        #expect(sources.contains("/keys/nf2\""))
        try ws.writeConfig(sources: sources, extra: "poll_interval = \"1h\"\nlog_format = \"\(format)\"")
        try sim.fault("path=/api/invoices&kind=status&code=503&message=busy&count=1")
        try sim.fault("path=/api/v1/invoices&kind=retry-after&value=1&count=1")
        let daemon = try ws.startBillsync(["run"])
        #expect(daemon.waitForEvent("sync.finished", count: 3, timeout: 15))
        #expect(daemon.waitForEvent("sync.failed", timeout: 5))
        #expect(daemon.waitForEvent("export.written", count: 3, timeout: 5))
        daemon.signal(SIGHUP)
        #expect(daemon.waitForEvent("config.reloaded", timeout: 5))
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 10) != nil)
        let text = daemon.stderrSoFar
        _ = daemon.result()
        var events = Set<String>()
        for line in text.split(separator: "\n").map(String.init) {
            let fields: [String: String]
            if format == "json" {
                guard case .object(let members)? = try? JSONValue.parse(line) else {
                    Issue.record("not JSON: \(line)")
                    continue
                }
                fields = members.compactMapValues { if case .string(let s) = $0 { s } else { nil } }
                #expect(fields.count == members.count, "non-string value in \(line)")
            } else {
                guard let parsed = parseLogfmt(line) else {
                    Issue.record("not logfmt: \(line)")
                    continue
                }
                fields = parsed
            }
            #expect(fields["ts"]?.hasSuffix("Z") == true, "\(line)")
            #expect(["debug", "info", "warn", "error"].contains(fields["level"] ?? ""), "\(line)")
            if let event = fields["event"] { events.insert(event) } else { Issue.record("no event: \(line)") }
        }
        for event in [
            "daemon.ready", "sync.started", "sync.finished", "sync.failed", "request.retry", "ratelimit.wait",
            "export.written", "config.reloaded", "daemon.stopping",
        ] {
            #expect(events.contains(event), "no \(event) in the \(format) log")
        }
        for key in [
            sim.options.northflankKey, sim.options.typesenseKey, sim.options.usageflowKey, "wrong-key-for-nf-org",
        ] {
            #expect(!text.contains(key), "a key leaked into the log")
        }
    }

    @Test func underJournaldLinesCarryAPriorityAndNoTimestamp() throws {
        let sim = try SimHarness()
        let ws = try Workspace(sim: sim)
        try ws.writeConfig()
        // Make JOURNAL_STREAM name the file the test captures stderr into.
        let errPath = FileManager.default.temporaryDirectory.path + "/bs-journal-\(UUID().uuidString.prefix(8))"
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { unlink(errPath) }
        var st = stat()
        stat(errPath, &st)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binDir + "/billsync")
        process.arguments = ["--config", ws.configPath, "sync", "--source", "usageflow"]
        process.environment = ProcessInfo.processInfo.environment.merging([
            "JOURNAL_STREAM": "\(st.st_dev):\(st.st_ino)", "BILLSYNC_NOW": String(testNow),
        ]) { $1 }
        process.standardError = FileHandle(forWritingAtPath: errPath)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let lines = try String(contentsOfFile: errPath, encoding: .utf8).split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            #expect(
                line.hasPrefix("<6>level=info ") || line.hasPrefix("<4>level=warn ")
                    || line.hasPrefix("<3>level=error "), "\(line)")
            #expect(parseLogfmt(String(line.dropFirst(3)))?["ts"] == nil, "\(line)")
        }
    }
}

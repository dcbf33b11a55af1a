import BillSyncConfig
import BillSyncCore
import BillSyncEngine
import BillSyncMetrics
import BillSyncServer
import BillSyncStore
import Foundation
import Logging

/// `billsync run`: every source on its own schedule, concurrently, until SIGTERM/SIGINT.
///
/// - Each source syncs every `poll_interval` (its own or the global one) plus a little
///   jitter so that sources do not align; a failing source is retried with exponential
///   backoff capped at its interval while the others carry on.
/// - Exports are refreshed after each successful sync (one export at a time).
/// - SIGHUP reloads the config (an invalid one keeps the old running) and reopens `log_file`.
/// - SIGTERM/SIGINT: the page in hand is finished and committed, then exit 0.
/// - sd_notify: READY=1, STATUS= after each sync, WATCHDOG=1, STOPPING=1.
public final class Daemon: @unchecked Sendable {
    struct Schedule {
        var nextDue: Double
        var failures = 0
        var running = false
        /// A webhook asked for a sync: the next one is due now, and says so in its log lines.
        var webhook = false
        /// A webhook came while this source was syncing: one more sync when it ends.
        var webhookDuringSync = false
        /// When the last sync a webhook asked for started.
        var lastWebhookSync: Double?
        var lastFinished: Double?
        var lastOK: Bool?
        /// When the source's syncs began failing (monotonic seconds), and whether that was alerted.
        var failingSince: Double?
        var failingAlerted = false
    }

    let configPath: String
    var config: Config
    let store: BillingStore
    let output: LogOutput
    let logger: Logger
    let clock: SyncClock
    let notifier: SystemdNotifier
    public let stop = StopFlag()
    let condition = NSCondition()
    var schedules: [String: Schedule] = [:]
    var reloadRequested = false
    /// Set once memory has been handed back after the last sync (see ``ProcessMemory``).
    var idleMemoryReleased = false
    /// When (monotonic seconds) memory was last handed back, and last handed back because the
    /// listener went quiet.
    var lastIdleRelease = -Double.infinity
    var lastQuietRelease = -Double.infinity
    /// Memory is handed back only when the next poll is at least this far away.
    static let idleReleaseAfter: Double = 30
    /// Memory is handed back again once the listener has answered nothing for this long, at
    /// most once per `quietReleaseEvery`: a scraper that comes back every 15 s keeps using the
    /// pages it faults back, and handing them back each time would cost more CPU than it saves.
    static let listenerQuietAfter: Double = 10
    static let quietReleaseEvery: Double = 300
    var lastSyncAt: Int64?
    let exportLock = NSLock()
    /// What the daemon counts for its metrics, across passes.
    let metrics = BillSyncMetrics()
    /// The loop's heartbeat, for `/livez`.
    lazy var health = DaemonHealth(startedAt: clock.now())
    var listener: Listener?
    /// `alert_webhook_url_file`'s sender, read at start.
    var alerts: AlertSender?
    var signalSources: [DispatchSourceSignal] = []
    let signalQueue = DispatchQueue(label: "billsync.signals")

    public init(
        configPath: String, config: Config, store: BillingStore, output: LogOutput, logger: Logger,
        clock: SyncClock, notifier: SystemdNotifier = SystemdNotifier()
    ) {
        self.configPath = configPath
        self.config = config
        self.store = store
        self.output = output
        self.logger = logger
        self.clock = clock
        self.notifier = notifier
    }

    func interval(_ source: SourceConfig) -> Double { source.pollInterval ?? config.pollInterval }

    /// Up to 10 % of the interval (at most a minute), so that sources drift apart.
    static func jitter(_ interval: Double) -> Double { Double.random(in: 0...min(interval * 0.1, 60)) }

    /// Exponential from an eighth of the interval, capped at the interval.
    static func backoff(failures: Int, interval: Double) -> Double {
        min(interval, interval / 8 * pow(2, Double(max(0, failures - 1))))
    }

    func installSignalHandlers() {
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: signalQueue)
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.condition.lock()
                if sig == SIGHUP { self.reloadRequested = true } else { self.stop.set() }
                self.condition.broadcast()
                self.condition.unlock()
            }
            source.resume()
            signalSources.append(source)
        }
    }

    /// Runs until stopped; returns the process exit code.
    public func run() -> Int32 {
        installSignalHandlers()
        do { alerts = try AlertSender.make(config, logger: logger) } catch {
            logger.error("config.invalid", metadata: ["error": .string(error.description)])
            return 2
        }
        defer { alerts?.finish(timeout: 2) }
        if let address = config.httpListen {
            let listener = Listener(host: address.host, port: address.port, logger: logger)
            do {
                try listener.start(
                    config: { [self] in condition.withLock { config } }, store: store, metrics: metrics,
                    health: health, clock: { [clock] in clock.now() },
                    onWebhook: { [weak self] name in self?.requestSync(name) })
                self.listener = listener
            } catch {
                logger.error("http.failed", metadata: ["error": .string("\(error)")])
                return 2
            }
        }
        defer { listener?.stop() }
        let start = monotonicSeconds()
        for source in config.sources {
            schedules[source.name] = Schedule(nextDue: start + Double.random(in: 0...min(1, interval(source) * 0.1)))
        }
        notifier.notify("READY=1\nSTATUS=started, \(config.sources.count) sources")
        logger.info(
            "daemon.ready",
            metadata: [
                "sources": "\(config.sources.count)", "poll_interval_s": "\(Int(config.pollInterval))",
                "watchdog_ms": "\(notifier.watchdogInterval.map { Int($0 * 1000) } ?? 0)", "pid": "\(getpid())",
            ])
        var nextWatchdog = notifier.watchdogInterval.map { monotonicSeconds() + $0 }
        if nextWatchdog != nil { notifier.notify("WATCHDOG=1") }

        condition.lock()
        while !stop.isSet {
            if reloadRequested {
                reloadRequested = false
                condition.unlock()
                reload()
                condition.lock()
                continue
            }
            let now = monotonicSeconds()
            health.beat()
            for source in config.sources {
                guard var schedule = schedules[source.name], !schedule.running, schedule.nextDue <= now else {
                    continue
                }
                schedule.running = true
                let trigger = schedule.webhook ? "webhook" : "schedule"
                if schedule.webhook { schedule.lastWebhookSync = now }
                schedule.webhook = false
                schedules[source.name] = schedule
                if idleMemoryReleased {
                    idleMemoryReleased = false
                    ProcessMemory.resume()
                }
                startSync(source, trigger: trigger)
            }
            if let due = nextWatchdog, due <= now {
                notifier.notify("WATCHDOG=1")
                nextWatchdog = now + notifier.watchdogInterval!
            }
            var nextDue = Double.infinity
            for schedule in schedules.values where !schedule.running { nextDue = min(nextDue, schedule.nextDue) }
            let listenerWentQuiet =
                idleMemoryReleased && now - lastQuietRelease >= Self.quietReleaseEvery
                && health.lastServed.map { $0 > lastIdleRelease && now - $0 >= Self.listenerQuietAfter } == true
            if (!idleMemoryReleased || listenerWentQuiet) && !schedules.values.contains(where: \.running)
                && nextDue - now >= Self.idleReleaseAfter
            {
                // Nothing runs until the next poll: give memory back while waiting; again once
                // the listener has been quiet for a while after serving requests.
                idleMemoryReleased = true
                lastIdleRelease = now
                if listenerWentQuiet { lastQuietRelease = now }
                condition.unlock()
                let cpu = ProcessMemory.cpuSeconds()
                store.releaseMemory()
                let mappings = ProcessMemory.release()
                logger.debug(
                    "daemon.idle",
                    metadata: [
                        "mappings_released": "\(mappings)", "next_poll_in_s": "\(Int(nextDue - now))",
                        "after": .string(listenerWentQuiet ? "requests" : "syncs"),
                        "cpu_ms": "\(Int((ProcessMemory.cpuSeconds() - cpu) * 1000))",
                    ])
                condition.lock()
                continue
            }
            var wakeAt = min(now + 1, nextDue)
            if let due = nextWatchdog { wakeAt = min(wakeAt, due) }
            _ = condition.wait(until: Date(timeIntervalSinceNow: max(0.001, wakeAt - monotonicSeconds())))
        }
        condition.unlock()

        notifier.notify("STOPPING=1")
        logger.info("daemon.stopping", metadata: ["reason": "signal"])
        // Syncs in flight finish their page, commit and return (they watch the stop flag).
        let deadline = monotonicSeconds() + 9
        condition.lock()
        while schedules.values.contains(where: \.running) && monotonicSeconds() < deadline {
            _ = condition.wait(until: Date(timeIntervalSinceNow: 0.05))
        }
        let unfinished = schedules.filter { $0.value.running }.map(\.key)
        condition.unlock()
        if !unfinished.isEmpty {
            logger.warning(
                "daemon.stop_timeout", metadata: ["sources": .string(unfinished.sorted().joined(separator: ","))])
        }
        logger.info("daemon.stopped")
        return 0
    }

    func startSync(_ source: SourceConfig, trigger: String = "schedule") {
        let config = self.config
        var logger = self.logger
        logger[metadataKey: "trigger"] = .string(trigger)
        let thread = Thread { [self, logger] in
            let pass = SyncPass(
                config: config, store: store, logger: logger, stop: stop, clock: clock, metrics: metrics)
            let report = SourceSync(
                source: source, config: config, store: store, logger: logger, stop: stop, clock: clock
            ).run()
            metrics.record(report, source: source)
            if report.succeeded {
                MonthEndWatch(config: config, store: store, logger: logger, alerts: alerts).afterSync(
                    [source], now: clock.now())
            }
            exportLock.lock()
            if report.succeeded && !stop.isSet {
                do { _ = try pass.export() } catch {
                    logger.error("export.failed", metadata: ["error": .string("\(error)")])
                }
            }
            pass.writeMetrics()
            exportLock.unlock()
            finished(source, report: report)
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// A verified webhook for `name`: its sync is due now, or, if one is running, once more after
    /// it. Any number of webhooks meanwhile make no more than that one.
    func requestSync(_ name: String) {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        guard var schedule = schedules[name], let source = config.source(named: name) else { return }
        if schedule.running {
            schedule.webhookDuringSync = true
        } else if !schedule.webhook {
            schedule.webhook = true
            schedule.nextDue = min(schedule.nextDue, webhookDue(schedule, source))
        }  // else already queued: this one rides along
        schedules[name] = schedule
    }

    /// Now, or `webhook_min_interval` after the last sync a webhook started, whichever is later.
    func webhookDue(_ schedule: Schedule, _ source: SourceConfig) -> Double {
        max(monotonicSeconds(), (schedule.lastWebhookSync ?? -.infinity) + source.webhookMinInterval)
    }

    func finished(_ source: SourceConfig, report: SyncReport) {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        let now = monotonicSeconds()
        guard var schedule = schedules[source.name] else { return }
        idleMemoryReleased = false
        schedule.running = false
        schedule.lastFinished = now
        schedule.lastOK = report.succeeded
        let every = interval(config.source(named: source.name) ?? source)
        if schedule.webhookDuringSync && !stop.isSet {
            // However many webhooks came meanwhile: one more sync, now.
            schedule.webhookDuringSync = false
            schedule.webhook = true
            schedule.nextDue = webhookDue(schedule, config.source(named: source.name) ?? source)
            if report.succeeded {
                (schedule.failures, schedule.failingSince, schedule.failingAlerted) = (0, nil, false)
            }
        } else if report.succeeded {
            schedule.failures = 0
            (schedule.failingSince, schedule.failingAlerted) = (nil, false)
            schedule.nextDue = now + every + Self.jitter(every)
        } else if !stop.isSet {
            if schedule.failingSince == nil { schedule.failingSince = now }
            if let since = schedule.failingSince, now - since > 3 * every, !schedule.failingAlerted {
                schedule.failingAlerted = true
                alerts?.send(
                    "source.failing",
                    text: "billsync: source \(source.name) has been failing for \(Int(now - since)) s "
                        + "(more than 3 × its \(Int(every)) s interval): \(report.error ?? "unknown error")",
                    fields: [
                        ("source", source.name), ("failing_for_s", "\(Int(now - since))"),
                        ("error", report.error ?? ""),
                    ])
            }
            schedule.failures += 1
            let wait = Self.backoff(failures: schedule.failures, interval: every)
            schedule.nextDue = now + wait
            logger.warning(
                "source.backoff",
                metadata: [
                    "source": .string(source.name), "failures": "\(schedule.failures)",
                    "retry_in_ms": "\(Int(wait * 1000))",
                ])
        }
        schedules[source.name] = schedule
        lastSyncAt = clock.now()
        let ok = schedules.values.filter { $0.lastOK == true }.count
        let failing = schedules.values.filter { $0.lastOK == false }.count
        let stamp = UTC.iso8601(lastSyncAt!)
        notifier.notify(
            "STATUS=\(ok) sources ok" + (failing > 0 ? ", \(failing) failing" : "")
                + ", last sync \(stamp.dropLast(4))Z")
    }

    func reload() {
        let fresh: Config
        do {
            fresh = try ConfigLoader.load(path: configPath)
            for source in fresh.sources { _ = try KeyReader.read(source.key, source: source.name, file: configPath) }
            guard fresh.stateDir == config.stateDir else {
                throw ConfigError(
                    file: configPath, key: "state_dir", problem: "cannot change while running; restart billsync")
            }
            try output.openFile(fresh.logFile)
        } catch {
            logger.error(
                "config.reload_failed", metadata: ["error": .string("\(error)"), "kept": "previous configuration"])
            return
        }
        output.setFormat(fresh.logFormat)
        output.setLevel(fresh.logLevel)
        condition.lock()
        config = fresh
        let now = monotonicSeconds()
        var next: [String: Schedule] = [:]
        for source in fresh.sources {
            if var schedule = schedules[source.name] {
                if !schedule.running, schedule.failures == 0, let last = schedule.lastFinished {
                    schedule.nextDue = last + interval(source)
                }
                next[source.name] = schedule
            } else {
                next[source.name] = Schedule(nextDue: now)
            }
        }
        // A removed source that is still syncing is kept until it finishes.
        for (name, schedule) in schedules where next[name] == nil && schedule.running { next[name] = schedule }
        schedules = next
        condition.broadcast()
        condition.unlock()
        logger.info(
            "config.reloaded",
            metadata: ["sources": "\(fresh.sources.count)", "poll_interval_s": "\(Int(fresh.pollInterval))"])
    }
}

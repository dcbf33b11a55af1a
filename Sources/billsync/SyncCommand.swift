import ArgumentParser
import BillSyncCore
import BillSyncDaemon

struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "One incremental pass over the sources (all by default), then refresh the exports.")

    @OptionGroup var options: ConfigOption

    @Option(name: .customLong("source"), help: ArgumentHelp("Only this source; repeat for several.", valueName: "name"))
    var sources: [String] = []

    func run() throws {
        let runtime = try Runtime.load(options)
        let selected = try runtime.sources(named: sources)
        try runtime.checkKeys(selected)
        let (lock, store) = try runtime.openLocked()
        let stop = StopFlag()
        let signals = StopSignals(stop)
        var pass = SyncPass(
            config: runtime.config, store: store, logger: runtime.logger, stop: stop, clock: runtime.clock)
        pass.alerts = try runtime.alertSender()
        // Alerts go out on their own thread; what is still queued gets a few seconds at exit.
        defer { pass.alerts?.finish(timeout: 5) }
        let reports = withExtendedLifetime((lock, signals)) { pass.sync(selected) }
        if stop.isSet {
            // Stopped by SIGTERM/SIGINT: every finished page is committed; the next sync resumes.
            runtime.logger.info("sync.interrupted", metadata: ["reason": "signal"])
            return
        }
        do { _ = try withExtendedLifetime(lock) { try pass.export() } } catch {
            runtime.logger.error("export.failed", metadata: ["error": .string("\(error)")])
            printError("\(error)")
            pass.writeMetrics()
            throw Exit.sourceFailed
        }
        withExtendedLifetime(lock) { pass.writeMetrics() }
        if reports.contains(where: { !$0.succeeded }) { throw Exit.sourceFailed }
    }
}

import ArgumentParser
import BillSyncDaemon

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract:
            "The daemon: sync every source on its schedule until SIGTERM/SIGINT; SIGHUP reloads the config and reopens the log file."
    )

    @OptionGroup var options: ConfigOption

    func run() throws {
        let runtime = try Runtime.load(options)
        try runtime.checkKeys(runtime.config.sources)
        let (lock, store) = try runtime.openLocked()
        let daemon = Daemon(
            configPath: options.path, config: runtime.config, store: store, output: runtime.output,
            logger: runtime.logger, clock: runtime.clock)
        let code = withExtendedLifetime(lock) { daemon.run() }
        if code != 0 { throw ExitCode(code) }
    }
}

import ArgumentParser
import BillSyncConfig
import BillSyncCore
import BillSyncDaemon
import BillSyncEngine
import BillSyncExport
import BillSyncSimulator
import Foundation

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Start the built-in simulator on loopback, sync all three providers from it, print where the exports are. Needs no keys."
    )

    @Option(name: .long, help: ArgumentHelp("Where the demo keeps its config, state and exports.", valueName: "dir"))
    var dir: String = "billsync-demo"

    func run() throws {
        let root = URL(fileURLWithPath: dir).standardizedFileURL.path
        try FileManager.default.createDirectory(atPath: root + "/keys", withIntermediateDirectories: true)
        var options = SimulatorOptions()
        options.seed = 2026
        options.historyDays = 120
        let simulator = Simulator(options: options)
        let port = try simulator.start(host: "127.0.0.1", port: 0)
        defer { simulator.stop() }
        let base = "http://127.0.0.1:\(port)"
        for (name, key) in [
            ("northflank", options.northflankKey), ("typesense", options.typesenseKey),
            ("usageflow", options.usageflowKey),
        ] {
            let path = root + "/keys/" + name
            _ = FileManager.default.createFile(
                atPath: path, contents: Data((key + "\n").utf8), attributes: [.posixPermissions: 0o600])
        }
        let now = SyncClock.fromEnvironment().now()
        let usageStart = UTC.date(UTC.startOfDay(now) - 30 * 86400)
        let configText = """
            # Written by `billsync demo`: three sources served by the built-in simulator.
            state_dir = "\(root)/state"
            export_dir = "\(root)/exports"
            exports = [\(ExportFormats.all.map { "\"\($0.name)\"" }.joined(separator: ", "))]

            [[sources]]
            name = "northflank"
            provider = "northflank"
            api_key_file = "\(root)/keys/northflank"
            base_url = "\(base)"
            team = "team-1"
            usage_start = "\(usageStart)"
            rate_limit = "none"

            [[sources]]
            name = "typesense"
            provider = "typesense-cloud"
            api_key_file = "\(root)/keys/typesense"
            base_url = "\(base)"
            rate_limit = "none"

            [[sources]]
            name = "usageflow"
            provider = "usageflow"
            api_key_file = "\(root)/keys/usageflow"
            base_url = "\(base)"
            currency = "EUR"
            rate_limit = "none"

            """
        let configPath = root + "/billsync.toml"
        try Data(configText.utf8).write(to: URL(fileURLWithPath: configPath))
        var option = ConfigOption()
        option.config = configPath
        let runtime = try Runtime.load(option)
        let (lock, store) = try runtime.openLocked()
        let pass = SyncPass(
            config: runtime.config, store: store, logger: runtime.logger, stop: StopFlag(), clock: runtime.clock)
        let reports = withExtendedLifetime(lock) { pass.sync(runtime.config.sources) }
        let files = try withExtendedLifetime(lock) { try pass.export() }
        print("")
        print(
            "billsync demo: synced \(reports.filter(\.succeeded).count) of \(reports.count) sources from the simulator at \(base)"
        )
        for report in reports {
            print(
                "  \(report.source): \(report.invoicesNew) invoices, \(report.usageHours) usage hours, \(report.requests) requests"
                    + (report.error.map { " — FAILED: \($0)" } ?? ""))
        }
        print("Exports are in \(runtime.config.exportDir):")
        for file in files { print("  \(file.path)") }
        print("Config: \(configPath)    State: \(runtime.config.databasePath)")
        print("Try:    billsync --config \(configPath) status")
        if reports.contains(where: { !$0.succeeded }) { throw Exit.sourceFailed }
    }
}

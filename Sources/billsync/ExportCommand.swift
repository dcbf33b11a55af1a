import ArgumentParser
import BillSyncConfig
import BillSyncCore
import BillSyncDaemon
import BillSyncExport

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Rewrite the exports from the store only (no network).")

    @OptionGroup var options: ConfigOption

    @Option(
        name: .customLong("format"),
        help: ArgumentHelp(
            "\(ExportFormats.names); repeat for several (default: the config's exports).", valueName: "format"))
    var formats: [String] = []

    func validate() throws {
        for name in formats where ExportFormats.named(name) == nil {
            throw ValidationError("--format takes \(ExportFormats.names), not '\(name)'.")
        }
    }

    func run() throws {
        let runtime = try Runtime.load(options)
        let (lock, store) = try runtime.openLocked()
        let pass = SyncPass(
            config: runtime.config, store: store, logger: runtime.logger, stop: StopFlag(), clock: runtime.clock)
        do {
            let files = try withExtendedLifetime(lock) {
                try pass.export(formats: formats.isEmpty ? nil : formats, onlyChanged: false)
            }
            for file in files { print(file.path) }
        } catch {
            printError("\(error)")
            throw Exit.sourceFailed
        }
    }
}

import ArgumentParser
import BillSyncCore

struct ResetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Rewind a source so that the next sync re-reads it (stored data is kept and upserted).")

    @OptionGroup var options: ConfigOption

    @Option(name: .long, help: ArgumentHelp("The source to rewind.", valueName: "name"))
    var source: String

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Re-read hourly usage from this UTC date (YYYY-MM-DD); default: from usage_start.", valueName: "date"))
    var usageFrom: String?

    func run() throws {
        let runtime = try Runtime.load(options)
        let selected = try runtime.sources(named: [source])[0]
        var from: Int64?
        if let usageFrom {
            guard let t = UTC.parse(usageFrom) else {
                printError("--usage-from \"\(usageFrom)\" is not a date like 2025-01-01")
                throw Exit.configError
            }
            from = UTC.startOfHour(t)
        }
        let (lock, store) = try runtime.openLocked()
        try withExtendedLifetime(lock) {
            try store.reset(source: selected.name, provider: selected.provider.rawValue, usageFrom: from)
        }
        print(
            "source \(selected.name): invoices will be re-read in full"
                + (from.map { ", usage from \(UTC.iso8601($0))" } ?? ", usage from its start") + " at the next sync")
    }
}

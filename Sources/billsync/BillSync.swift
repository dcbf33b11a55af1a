import ArgumentParser
import BillSyncDaemon

@main
struct BillSync: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billsync",
        abstract:
            "Pull invoices, line items and hourly usage from Northflank, Typesense Cloud and UsageFlow into SQLite and ledgers.",
        usage: "billsync [--config <path>] <command> [options]",
        discussion: """
            Config: --config, else $BILLSYNC_CONFIG, else /etc/billsync/billsync.toml.
            Exit codes: 0 success; 1 at least one source failed (the others still synced and exported); \
            2 usage or config error; 3 another billsync holds the state lock.
            """,
        subcommands: [
            RunCommand.self, SyncCommand.self, ExportCommand.self, StatusCommand.self, CheckCommand.self,
            ResetCommand.self, ReconcileCommand.self, DemoCommand.self,
        ])

    static func main() {
        ProcessMemory.limitAllocatorArenas()
        main(globalOptionsAfterCommand(Array(CommandLine.arguments.dropFirst())))
    }

    /// `billsync --config X sync` is read as `billsync sync --config X`: the config option
    /// belongs to every command, written before or after its name.
    static func globalOptionsAfterCommand(_ args: [String]) -> [String] {
        var leading: [String] = []
        var i = 0
        while i < args.count {
            if args[i] == "--config", i + 1 < args.count {
                leading += args[i...i + 1]
                i += 2
            } else if args[i].hasPrefix("--config=") {
                leading.append(args[i])
                i += 1
            } else {
                break
            }
        }
        guard !leading.isEmpty, i < args.count else { return args }
        return [args[i]] + leading + args[(i + 1)...]
    }
}

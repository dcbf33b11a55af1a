import ArgumentParser
import BillSyncConfig
import BillSyncCore
import BillSyncDaemon
import BillSyncEngine
import BillSyncStore
import Foundation
import Logging

/// `--config PATH`, then `$BILLSYNC_CONFIG`, then `/etc/billsync/billsync.toml`.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Config file.", valueName: "path"))
    var config: String?

    var path: String {
        config ?? ProcessInfo.processInfo.environment["BILLSYNC_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "/etc/billsync/billsync.toml"
    }
}

enum Exit {
    static let sourceFailed = ExitCode(1)
    static let configError = ExitCode(2)
    static let locked = ExitCode(3)
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data(("billsync: error: " + SecretRegistry.shared.redact(message) + "\n").utf8))
}

/// What every command that touches the state needs: the config, the log, the store.
struct Runtime {
    let config: Config
    let output: LogOutput
    let logger: Logger
    let clock = SyncClock.fromEnvironment()

    private static let bootstrap: LogOutput = {
        let output = LogOutput(format: .logfmt)
        LoggingSystem.bootstrap { _ in EventLogHandler(output: output) }
        return output
    }()

    /// The alert sender `alert_webhook_url_file` asks for (its URL file read now), or nil;
    /// exits 2 when the file is missing, empty or holds no https URL.
    func alertSender() throws -> AlertSender? {
        do { return try AlertSender.make(config, logger: logger) } catch {
            printError(error.description)
            throw Exit.configError
        }
    }

    /// Loads the config or exits 2 with the precise message.
    static func load(_ option: ConfigOption) throws -> Runtime {
        let output = bootstrap
        let config: Config
        do { config = try ConfigLoader.load(path: option.path) } catch {
            printError(error.description)
            throw Exit.configError
        }
        output.setFormat(config.logFormat)
        output.setLevel(config.logLevel)
        do { try output.openFile(config.logFile) } catch {
            printError("\(error)")
            throw Exit.configError
        }
        let logger = Logger(label: "billsync")
        for warning in config.warnings { logger.warning("config.warning", metadata: ["reason": .string(warning)]) }
        for source in config.sources {
            if let warning = KeyReader.permissionWarning(
                source.key, source: source.name, environment: ProcessInfo.processInfo.environment)
            {
                logger.warning("config.warning", metadata: ["reason": .string(warning)])
            }
        }
        return Runtime(config: config, output: output, logger: logger)
    }

    /// Creates the state and export directories, takes the lock (exit 3 if held), opens the store.
    func openLocked() throws -> (StateLock, BillingStore) {
        for dir in [config.stateDir, config.exportDir] {
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                printError("cannot create directory \(dir): \(error.localizedDescription)")
                throw Exit.configError
            }
        }
        let lock: StateLock
        do { lock = try StateLock(directory: config.stateDir) } catch {
            printError(error.description)
            if case .held = error { throw Exit.locked }
            throw Exit.configError
        }
        return (lock, try openStore())
    }

    func openStore() throws -> BillingStore {
        do { return try BillingStore(path: config.databasePath) } catch {
            printError("\(error)")
            throw Exit.configError
        }
    }

    /// Reads every selected source's key up front: a missing or empty key is a config
    /// error (exit 2), found before any network traffic.
    func checkKeys(_ sources: [SourceConfig]) throws {
        for source in sources {
            do { _ = try KeyReader.read(source.key, source: source.name, file: config.path) } catch {
                printError(error.description)
                throw Exit.configError
            }
        }
    }

    func sources(named names: [String]) throws -> [SourceConfig] {
        guard !names.isEmpty else { return config.sources }
        return try names.map { name in
            guard let source = config.source(named: name) else {
                printError(
                    "no source named \"\(name)\" in \(config.path) (sources: \(config.sources.map(\.name).joined(separator: ", ")))"
                )
                throw Exit.configError
            }
            return source
        }
    }
}

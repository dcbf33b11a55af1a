import ArgumentParser
import BillSyncConfig
import BillSyncDaemon
import Foundation
import Logging

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the config and every file or variable it names a secret in, without touching the network.")

    @OptionGroup var options: ConfigOption

    func run() throws {
        let path = options.path
        let config: Config
        do {
            config = try ConfigLoader.load(path: path)
            for source in config.sources {
                _ = try KeyReader.read(source.key, source: source.name, file: path)
                if let secret = source.webhookSecret {
                    _ = try KeyReader.read(secret, source: source.name, file: path, keyName: "webhook_secret")
                }
                if let previous = source.webhookSecretPrevious {
                    _ = try KeyReader.read(
                        previous, source: source.name, file: path, keyName: "webhook_secret_previous")
                }
            }
            // The alert webhook's URL file, read and checked as `sync` and `run` read it.
            _ = try AlertSender.make(config, logger: Logger(label: "check", factory: { _ in SwiftLogNoOpLogHandler() }))
        } catch {
            printError(error.description)
            throw Exit.configError
        }
        let env = ProcessInfo.processInfo.environment
        for warning in config.warnings
            + config.sources.compactMap({ KeyReader.permissionWarning($0.key, source: $0.name, environment: env) })
        {
            print("warning: \(warning)")
        }
        print(
            "\(path): OK, \(config.sources.count) source\(config.sources.count == 1 ? "" : "s"): "
                + config.sources.map { "\($0.name) (\($0.provider.rawValue))" }.joined(separator: ", "))
    }
}

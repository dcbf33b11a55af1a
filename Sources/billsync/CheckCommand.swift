import ArgumentParser
import BillSyncConfig
import Foundation

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the config and the key references without touching the network.")

    @OptionGroup var options: ConfigOption

    func run() throws {
        let path = options.path
        let config: Config
        do {
            config = try ConfigLoader.load(path: path)
            for source in config.sources {
                _ = try KeyReader.read(source.key, source: source.name, file: path)
            }
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

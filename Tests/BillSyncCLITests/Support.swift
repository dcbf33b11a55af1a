import BillSyncCore
import BillSyncSimulator
import BillSyncTestSupport
import Foundation
import Testing

/// Where the built executables are: beside the test bundle, or `BILLSYNC_BIN_DIR`.
let binDir: String = {
    if let dir = ProcessInfo.processInfo.environment["BILLSYNC_BIN_DIR"] { return dir }
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.isExecutableFile(atPath: url.path + "/billsync") { return url.path }
    }
    return FileManager.default.currentDirectoryPath + "/.build/debug"
}()

/// A temporary state/export directory with a config pointing at a simulator.
final class Workspace: @unchecked Sendable {
    let root: String
    let sim: SimHarness
    var configPath: String { root + "/billsync.toml" }
    var exportDir: String { root + "/exports" }
    var stateDir: String { root + "/state" }

    init(sim: SimHarness) throws {
        self.sim = sim
        root = FileManager.default.temporaryDirectory.path + "/billsync-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root + "/keys", withIntermediateDirectories: true)
        for (name, key) in [
            ("nf", sim.options.northflankKey), ("ts", sim.options.typesenseKey), ("uf", sim.options.usageflowKey),
        ] {
            _ = FileManager.default.createFile(
                atPath: root + "/keys/" + name, contents: Data((key + "\n").utf8),
                attributes: [.posixPermissions: 0o600])
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    static let usageStart = "2026-10-01"

    /// The standard four sources: a northflank team, the northflank org, typesense, usageflow.
    var standardSources: String {
        """
        [[sources]]
        name = "nf-team"
        provider = "northflank"
        api_key_file = "\(root)/keys/nf"
        base_url = "\(sim.base)"
        team = "team-1"
        usage_start = "\(Self.usageStart)"
        rate_limit = "none"

        [[sources]]
        name = "nf-org"
        provider = "northflank"
        api_key_file = "\(root)/keys/nf"
        base_url = "\(sim.base)"
        usage_start = "\(Self.usageStart)"
        rate_limit = "none"

        [[sources]]
        name = "typesense"
        provider = "typesense-cloud"
        api_key_file = "\(root)/keys/ts"
        base_url = "\(sim.base)"
        rate_limit = "none"

        [[sources]]
        name = "usageflow"
        provider = "usageflow"
        api_key_file = "\(root)/keys/uf"
        base_url = "\(sim.base)"
        currency = "EUR"
        rate_limit = "none"
        """
    }

    /// `[[sources]]` blocks for Northflank accounts: `(name, team or nil)`, usage from `usageStart`.
    func northflankSources(_ accounts: [(name: String, team: String?)], usageStart: String) -> String {
        accounts.map { account in
            """
            [[sources]]
            name = "\(account.name)"
            provider = "northflank"
            api_key_file = "\(root)/keys/nf"
            base_url = "\(sim.base)"
            \(account.team.map { "team = \"\($0)\"" } ?? "")
            usage_start = "\(usageStart)"
            rate_limit = "none"

            """
        }.joined()
    }

    func writeConfig(sources: String? = nil, extra: String = "") throws {
        let text = """
            state_dir = "\(stateDir)"
            export_dir = "\(exportDir)"
            exports = ["csv"]
            retry_base_delay = "10ms"
            retry_max_delay = "50ms"
            retry_max_attempts = 4
            request_timeout = "5s"
            \(extra)

            \(sources ?? standardSources)
            """
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    @discardableResult
    func billsync(_ args: [String], env: [String: String] = [:]) throws -> ProcessResult {
        try runProcess(
            binDir + "/billsync", ["--config", configPath] + args,
            env: ["BILLSYNC_NOW": String(testNow)].merging(env) { $1 })
    }

    func startBillsync(_ args: [String]) throws -> RunningProcess {
        try startProcess(binDir + "/billsync", ["--config", configPath] + args, env: ["BILLSYNC_NOW": String(testNow)])
    }

    func read(_ name: String) throws -> String { try String(contentsOfFile: exportDir + "/" + name, encoding: .utf8) }

    func csv(_ name: String) throws -> [[String: String]] { CSV.records(try read(name)) }

    func mtimes() throws -> [String: Date] {
        var out: [String: Date] = [:]
        let e = FileManager.default.enumerator(atPath: exportDir)
        while let name = e?.nextObject() as? String {
            let attrs = try FileManager.default.attributesOfItem(atPath: exportDir + "/" + name)
            if attrs[.type] as? FileAttributeType == .typeRegular { out[name] = attrs[.modificationDate] as? Date }
        }
        return out
    }

    /// Every export file's bytes, by name.
    func exportContents() throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for name in try mtimes().keys {
            out[name] = Array(FileManager.default.contents(atPath: exportDir + "/" + name)!)
        }
        return out
    }
}

func decimal(_ text: String) -> ExactDecimal {
    (try? ExactDecimal(parsing: text)) ?? ExactDecimal(significand: -999_999_999, scale: 0)
}

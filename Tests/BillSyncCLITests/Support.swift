import BillSyncCore
import BillSyncSimulator
import BillSyncTestSupport
import Foundation
import Testing

/// The fixed "now" of these tests: syncs run up to the last whole hour before it.
let testNow: Int64 = 1_793_493_000  // 2026-11-01T00:30:00Z
let lastWholeHourEnd: Int64 = 1_793_491_200  // 2026-11-01T00:00:00Z

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

/// A simulator on a loopback port, for one test.
final class SimHarness: @unchecked Sendable {
    let simulator: Simulator
    let port: Int
    let options: SimulatorOptions
    var base: String { "http://127.0.0.1:\(port)" }

    init(_ configure: (inout SimulatorOptions) -> Void = { _ in }) throws {
        var options = SimulatorOptions()
        options.seed = 42
        options.now = testNow
        options.historyDays = 40
        options.teams = 2
        options.typesenseInvoices = 60
        options.usageflowInvoices = 8
        configure(&options)
        self.options = options
        simulator = Simulator(options: options)
        port = try simulator.start(host: "127.0.0.1", port: 0)
    }

    deinit { simulator.stop() }

    func get(_ path: String) throws -> String {
        let r = try runProcess("/usr/bin/curl", ["-sS", "--fail", base + path])
        guard r.status == 0 else { throw TestFailure("GET \(path): \(r.stderr)") }
        return r.stdout
    }

    func post(_ path: String) throws {
        let r = try runProcess("/usr/bin/curl", ["-sS", "--fail", "-X", "POST", base + path])
        guard r.status == 0 else { throw TestFailure("POST \(path): \(r.stderr) \(r.stdout)") }
    }

    func delete(_ path: String) throws {
        let r = try runProcess("/usr/bin/curl", ["-sS", "--fail", "-X", "DELETE", base + path])
        guard r.status == 0 else { throw TestFailure("DELETE \(path): \(r.stderr)") }
    }

    func json(_ path: String) throws -> JSONField { JSONField(try JSONValue.parse(try get(path))) }

    /// Requests per endpoint since the last reset.
    func endpointCounts() throws -> [String: Int] {
        var out: [String: Int] = [:]
        guard case .object(let m) = try json("/_sim/requests").require("endpoints").value else { return out }
        for (k, v) in m { if case .number(let n) = v { out[k] = Int(n) } }
        return out
    }

    func totalRequests() throws -> Int { Int(try json("/_sim/requests").require("total").int64()) }

    func resetCounts() throws { try post("/_sim/requests/reset") }

    /// `/_sim/faults` with the given query.
    func fault(_ query: String) throws { try post("/_sim/faults?" + query) }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

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

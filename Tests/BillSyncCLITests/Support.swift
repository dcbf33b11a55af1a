import BillSyncCore
import BillSyncSimulator
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

struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to completion with its output captured in files (no pipe deadlocks).
@discardableResult
func runProcess(_ path: String, _ args: [String], env: [String: String] = [:], workdir: String? = nil) throws
    -> ProcessResult
{
    let process = try startProcess(path, args, env: env)
    process.process.waitUntilExit()
    return process.result()
}

final class RunningProcess: @unchecked Sendable {
    let process: Process
    let outPath: String
    let errPath: String

    init(process: Process, outPath: String, errPath: String) {
        self.process = process
        self.outPath = outPath
        self.errPath = errPath
    }

    func result() -> ProcessResult {
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
        return ProcessResult(status: process.terminationStatus, stdout: out, stderr: err)
    }
}

func startProcess(_ path: String, _ args: [String], env: [String: String] = [:]) throws -> RunningProcess {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = args
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "BILLSYNC_CONFIG")
    environment.removeValue(forKey: "JOURNAL_STREAM")
    for (k, v) in env { environment[k] = v }
    process.environment = environment
    let tmp = FileManager.default.temporaryDirectory.path + "/bs-proc-\(UUID().uuidString)"
    _ = FileManager.default.createFile(atPath: tmp + ".out", contents: nil)
    _ = FileManager.default.createFile(atPath: tmp + ".err", contents: nil)
    process.standardOutput = FileHandle(forWritingAtPath: tmp + ".out")
    process.standardError = FileHandle(forWritingAtPath: tmp + ".err")
    process.standardInput = FileHandle.nullDevice
    try process.run()
    return RunningProcess(process: process, outPath: tmp + ".out", errPath: tmp + ".err")
}

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

/// A small RFC 4180 reader for assertions.
enum CSV {
    static func rows(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var chars = Array(text.unicodeScalars)[...]
        if chars.first == "\u{FEFF}" { chars = chars.dropFirst() }
        var i = chars.startIndex
        while i < chars.endIndex {
            let c = chars[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < chars.endIndex, chars[i + 1] == "\"" {
                        field.unicodeScalars.append("\"")
                        i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(field)
                field = ""
            } else if c == "\r", i + 1 < chars.endIndex, chars[i + 1] == "\n" {
                row.append(field)
                field = ""
                rows.append(row)
                row = []
                i += 1
            } else {
                field.unicodeScalars.append(c)
            }
            i += 1
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }

    static func records(_ text: String) -> [[String: String]] {
        let all = rows(text)
        guard let header = all.first else { return [] }
        return all.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }
}

func decimal(_ text: String) -> ExactDecimal {
    (try? ExactDecimal(parsing: text)) ?? ExactDecimal(significand: -999_999_999, scale: 0)
}

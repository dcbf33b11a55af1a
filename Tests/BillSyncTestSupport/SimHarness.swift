import BillSyncCore
import BillSyncSimulator
import Foundation

/// The fixed "now" of the tests that sync: they run up to the last whole hour before it.
public let testNow: Int64 = 1_793_493_000  // 2026-11-01T00:30:00Z
public let lastWholeHourEnd: Int64 = 1_793_491_200  // 2026-11-01T00:00:00Z

/// A simulator on a loopback port, for one test, and a client for its control endpoints.
public final class SimHarness: @unchecked Sendable {
    public let simulator: Simulator
    public let port: Int
    public let options: SimulatorOptions
    public var base: String { "http://127.0.0.1:\(port)" }
    private let lock = NSLock()
    private let client: LoopbackClient

    /// Seed 42, ``testNow``, 40 days of history, two teams, 60 Typesense Cloud and 8
    /// UsageFlow invoices, unless `configure` says otherwise.
    public init(_ configure: (inout SimulatorOptions) -> Void = { _ in }) throws {
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
        client = LoopbackClient(port: port)
    }

    deinit { simulator.stop() }

    private func send(_ method: String, _ path: String, headers: [String: String] = [:]) throws -> String {
        let reply = try lock.withLock { try client.send(method, path, headers) }
        guard (200..<300).contains(reply.status) else {
            throw TestFailure("\(method) \(path): \(reply.status) \(reply.text)")
        }
        return reply.text
    }

    public func get(_ path: String, headers: [String: String] = [:]) throws -> String {
        try send("GET", path, headers: headers)
    }

    public func post(_ path: String) throws { _ = try send("POST", path) }

    public func delete(_ path: String) throws { _ = try send("DELETE", path) }

    public func json(_ path: String) throws -> JSONField { JSONField(try JSONValue.parse(try get(path))) }

    /// Requests per endpoint since the last reset.
    public func endpointCounts() throws -> [String: Int] {
        var out: [String: Int] = [:]
        guard case .object(let m) = try json("/_sim/requests").require("endpoints").value else { return out }
        for (k, v) in m { if case .number(let n) = v { out[k] = Int(n) } }
        return out
    }

    public func totalRequests() throws -> Int { Int(try json("/_sim/requests").require("total").int64()) }

    public func resetCounts() throws { try post("/_sim/requests/reset") }

    /// `/_sim/faults` with the given query.
    public func fault(_ query: String) throws { try post("/_sim/faults?" + query) }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

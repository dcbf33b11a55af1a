import BillSyncSimulator
import BillSyncTestSupport
import Foundation

/// 2026-11-01T00:00:00Z, a Sunday.
let fixedNow: Int64 = 1_793_491_200

let northflankAuth = ["Authorization": "Bearer nf-sim-key"]
let typesenseAuth = ["X-TYPESENSE-CLOUD-MANAGEMENT-API-KEY": "ts-sim-key"]
let usageflowAuth = ["x-usageflow-api-key": "uf-sim-key"]

func fixedOptions(_ configure: (inout SimulatorOptions) -> Void = { _ in }) -> SimulatorOptions {
    var options = SimulatorOptions()
    options.seed = 7
    options.now = fixedNow
    configure(&options)
    return options
}

/// Starts a simulator on a free loopback port, hands a connected client to `body`, stops it.
func withSimulator<T>(
    _ options: SimulatorOptions = fixedOptions(),
    _ body: (Simulator, LoopbackClient) throws -> T
) throws -> T {
    let simulator = Simulator(options: options)
    let port = try simulator.start()
    defer { simulator.stop() }
    let client = LoopbackClient(port: port)
    return try body(simulator, client)
}

extension LoopbackClient {
    /// Every Northflank record under `path` (`invoices` or `usage`), following cursors.
    func northflankWalk(_ path: String, _ query: String = "", perPage: Int) throws -> (records: [JSON], pages: Int) {
        var records: [JSON] = []
        var cursor: String?
        var pages = 0
        let key = path.hasSuffix("usage") ? "usage" : "invoices"
        repeat {
            var target = "\(path)?per_page=\(perPage)" + (query.isEmpty ? "" : "&" + query)
            if let cursor { target += "&cursor=\(cursor)" }
            let reply = try get(target, northflankAuth)
            guard reply.status == 200 else { throw WalkError.status(reply.status, reply.text) }
            let json = try reply.json()
            let page = json["data"]?[key]?.array ?? []
            records += page
            pages += 1
            guard json["pagination"]?["count"]?.int == Int64(page.count) else { throw WalkError.badCount }
            cursor = json["pagination"]?["hasNextPage"]?.bool == true ? json["pagination"]?["cursor"]?.string : nil
        } while cursor != nil
        return (records, pages)
    }

    func truth(_ query: String) throws -> [JSON] {
        let reply = try get("/_sim/truth/\(query)")
        guard reply.status == 200 else { throw WalkError.status(reply.status, reply.text) }
        return try reply.json().array
    }
}

enum WalkError: Error {
    case status(Int, String)
    case badCount
}

/// Whether `text` is a contract money string: digits, `.`, at least two decimals, no
/// trailing zero beyond the second.
func isMoneyText(_ text: String) -> Bool {
    guard let match = text.wholeMatch(of: /-?[0-9]+\.([0-9]{2,})/) else { return false }
    let decimals = match.output.1
    return decimals.count == 2 || decimals.last != "0"
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

extension Reply {
    func json() throws -> JSON { try JSON.parse(body) }
}

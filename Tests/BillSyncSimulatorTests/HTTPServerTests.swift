import BillSyncSimulator
import BillSyncTestSupport
import Testing

@Suite struct HTTPServerTests {
    @Test func oneKeepAliveConnectionServesThousandsOfRequests() throws {
        try withSimulator(fixedOptions { $0.historyDays = 400 }) { _, client in
            for _ in 0..<2_000 {
                let reply = try client.get("/v1/billing/usage?startTime=0&per_page=100", northflankAuth)
                #expect(reply.status == 200)
            }
            #expect(client.connections == 1)
        }
    }

    @Test func connectionCloseIsHonoured() throws {
        try withSimulator { _, client in
            let reply = try client.send("GET", "/api/invoices", usageflowAuth, close: true)
            #expect(reply.status == 200 && reply.headers["connection"] == "close")
            #expect(client.serverClosed())
        }
    }

    @Test func stopReleasesThePortAndStartCanFollow() throws {
        let simulator = Simulator(options: fixedOptions())
        let port = try simulator.start()
        #expect(simulator.port == port && port > 0)
        #expect(throws: SimulatorError.self) { try simulator.start() }
        let client = LoopbackClient(port: port)
        #expect(try client.get("/_sim/health").status == 200)
        simulator.stop()
        #expect(simulator.port == 0)
        #expect(client.serverClosed())
        #expect(throws: ClientError.cannotConnect) { try LoopbackClient(port: port).get("/_sim/health") }
        let again = try simulator.start(port: port)
        #expect(again == port)
        #expect(try LoopbackClient(port: port).get("/_sim/health").status == 200)
        simulator.stop()
    }

    @Test func concurrentConnectionsAreServedIndependently() async throws {
        let simulator = Simulator(options: fixedOptions())
        let port = try simulator.start()
        defer { simulator.stop() }
        let bodies = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let client = LoopbackClient(port: port)
                    var last: [UInt8] = []
                    for _ in 0..<50 {
                        last = try client.get("/api/v1/invoices?per_page=50", typesenseAuth).body
                    }
                    return last
                }
            }
            return try await group.reduce(into: [[UInt8]]()) { $0.append($1) }
        }
        #expect(Set(bodies).count == 1)
        let counts = try LoopbackClient(port: port).get("/_sim/requests").json()
        #expect(counts["total"]?.int == 400)
    }
}

import BillSyncSimulator
import BillSyncTestSupport
import Testing

@Suite struct DeterminismTests {
    static let targets: [(String, [String: String])] = [
        ("/v1/billing/invoices?per_page=2", northflankAuth),
        ("/v1/teams/team-1/billing/invoices?per_page=100", northflankAuth),
        ("/v1/teams/team-2/billing/usage?startTime=1793000000&per_page=100", northflankAuth),
        ("/api/v1/invoices?page=2&per_page=7", typesenseAuth),
        ("/api/invoices", usageflowAuth),
        ("/_sim/truth/invoices?provider=typesense", [:]),
        ("/_sim/truth/usage?account=team-1&start=1793300000", [:]),
    ]

    static func bodies(_ options: SimulatorOptions) throws -> [[UInt8]] {
        try withSimulator(options) { _, client in
            var bodies = try targets.map { target, headers in try client.get(target, headers).body }
            // Details are addressed by the ids the list gave.
            let list = try client.get("/api/v1/invoices?per_page=50", typesenseAuth).json()
            for invoice in list["invoices"]!.array.prefix(5) {
                bodies.append(try client.get("/api/v1/invoices/\(invoice["id"]!.string!)", typesenseAuth).body)
            }
            return bodies
        }
    }

    @Test func sameSeedAndNowServeByteIdenticalPages() throws {
        let first = try Self.bodies(fixedOptions())
        let second = try Self.bodies(fixedOptions())
        #expect(first == second)
        #expect(first.allSatisfy { $0.count > 20 })
    }

    @Test func anotherSeedServesOtherData() throws {
        let first = try Self.bodies(fixedOptions())
        let other = try Self.bodies(fixedOptions { $0.seed = 8 })
        for (a, b) in zip(first, other) {
            #expect(a != b)
        }
    }

    @Test func hostileTextIsDeterministicToo() throws {
        let options = fixedOptions { $0.hostileText = true }
        #expect(try Self.bodies(options) == Self.bodies(options))
    }
}

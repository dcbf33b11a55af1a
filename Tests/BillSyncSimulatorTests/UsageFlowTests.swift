import BillSyncSimulator
import BillSyncTestSupport
import Testing

@Suite struct UsageFlowTests {
    @Test func listsMonthlyInvoicesNewestFirst() throws {
        try withSimulator { _, client in
            let reply = try client.get("/api/invoices", usageflowAuth)
            #expect(reply.status == 200)
            let invoices = try reply.json()["invoices"]!.array
            #expect(invoices.count == 12)
            #expect(invoices.map { $0["id"]!.string! } == (1...12).reversed().map { "uf_inv_\($0)" })
            #expect(
                invoices.map { $0["status"]!.string! } == ["PENDING", "PAID", "FAILED"]
                    + Array(repeating: "PAID", count: 9))
            let newest = invoices[0]
            #expect(newest.keys == ["id", "amount", "status", "periodStart", "periodEnd", "createdAt"])
            #expect(newest["periodStart"]?.string == "2026-10-01T00:00:00.000Z")
            #expect(newest["periodEnd"]?.string == "2026-11-01T00:00:00.000Z")
            #expect(newest["createdAt"]?.string == "2026-11-01T00:00:00.000Z")
            #expect(invoices[11]["periodStart"]?.string == "2025-11-01T00:00:00.000Z")
            for (newer, older) in zip(invoices, invoices.dropFirst()) {
                #expect(older["periodEnd"] == newer["periodStart"])
            }
            let amounts = invoices.map { $0["amount"]!.number! }
            #expect(amounts.allSatisfy { Exact($0) != nil && !$0.hasSuffix(".0") })
            let decimals = Set(amounts.map { $0.split(separator: ".").dropFirst().first?.count ?? 0 })
            #expect(decimals.count >= 3, "amounts mix whole, short and long decimals: \(amounts)")
        }
    }

    @Test func rejectsAWrongKey() throws {
        try withSimulator { _, client in
            let reply = try client.get("/api/invoices", ["x-usageflow-api-key": "nope"])
            #expect(reply.status == 401 && reply.text == #"{"error":"Invalid API key"}"#)
            #expect(try client.get("/api/invoices").status == 401)
            #expect(try client.get("/api/customers", usageflowAuth).status == 404)
        }
    }
}

import BillSyncSimulator
import BillSyncTestSupport
import Testing

@Suite struct ControlTests {
    @Test func statusChangesAreServedFromThenOn() throws {
        try withSimulator { _, client in
            let due = try client.get("/api/v1/invoices?per_page=1", typesenseAuth).json()["invoices"]![0]!
            let id = due["id"]!.string!
            #expect(due["status"]?.string == "due")
            let changed = try client.post("/_sim/invoices/typesense/\(id)/status?value=paid")
            #expect(changed.text == #"{"provider":"typesense","id":"\#(id)","status":"paid"}"#)
            let paid = try client.get("/api/v1/invoices/\(id)", typesenseAuth).json()
            #expect(paid["status"]?.string == "paid")
            let payment = paid["payment"]!
            #expect(
                payment["paid_via_card_cents"]!.int! + payment["paid_via_credits_cents"]!.int! == paid["amount_cents"]!
                    .int!)
            #expect(try client.truth("invoices?provider=typesense")[0]["status"]?.string == "paid")

            #expect(try client.post("/_sim/invoices/northflank/nfinv_team-1_202610/status?value=paid").status == 200)
            let northflank = try client.get("/v1/teams/team-1/billing/invoices", northflankAuth).json()
            #expect(northflank["data"]!["invoices"]![0]!["paid"]?.bool == true)
            #expect(try client.post("/_sim/invoices/northflank/nfinv_team-1_202609/status?value=unpaid").status == 200)
            #expect(try client.truth("invoices?provider=northflank&account=team-1")[1]["status"]?.string == "unpaid")

            #expect(try client.post("/_sim/invoices/usageflow/uf_inv_10/status?value=PAID").status == 200)
            let usageflow = try client.get("/api/invoices", usageflowAuth).json()["invoices"]!
            #expect(usageflow[2]!["status"]?.string == "PAID")

            #expect(try client.post("/_sim/invoices/northflank/nfinv_team-1_202610/status?value=maybe").status == 400)
            #expect(try client.post("/_sim/invoices/northflank/nfinv_team-1_201001/status?value=paid").status == 404)
            #expect(try client.post("/_sim/invoices/typesense/tsinv_000000000000/status?value=paid").status == 404)
            #expect(try client.post("/_sim/invoices/usageflow/uf_inv_13/status?value=PAID").status == 404)
            #expect(try client.post("/_sim/invoices/stripe/x/status?value=paid").status == 404)
        }
    }

    @Test func newInvoicesAppearAtTheHead() throws {
        try withSimulator { _, client in
            let added = try client.post("/_sim/invoices/typesense/new?count=2").json()
            let ids = added["ids"]!.array.map { $0.string! }
            #expect(ids.count == 2)
            let list = try client.get("/api/v1/invoices?per_page=4", typesenseAuth).json()
            #expect(list["total"]?.int == 32)
            let invoices = list["invoices"]!.array
            #expect(invoices.prefix(2).map { $0["id"]!.string! } == ids)
            #expect(invoices.map { $0["number"]!.int! } == [10_031, 10_030, 10_029, 10_028])
            #expect(invoices.prefix(2).allSatisfy { $0["status"]?.string == "due" })
            #expect(invoices[1]["period_starts_at"]?.int == TypesenseCloudTests.lastMonday)
            #expect(invoices[0]["period_starts_at"]?.int == TypesenseCloudTests.lastMonday + 7 * 86_400)
            #expect(invoices[2]["status"]?.string == "due")
            let detail = try client.get("/api/v1/invoices/\(ids[0])", typesenseAuth).json()
            #expect((2...5).contains(detail["line_items"]!.array.count))

            let northflank = try client.post("/_sim/invoices/northflank/new?account=team-1&count=1").json()
            #expect(northflank["ids"]?.array.map { $0.string! } == ["nfinv_team-1_202611"])
            let team = try client.get("/v1/teams/team-1/billing/invoices", northflankAuth).json()["data"]!["invoices"]!
            #expect(
                team.array.map { $0["id"]!.string! } == [
                    "nfinv_team-1_202611", "nfinv_team-1_202610", "nfinv_team-1_202609", "nfinv_team-1_202608",
                ])
            #expect(team.array.map { $0["paid"]!.bool! } == [false, false, true, true])
            #expect(
                try client.get("/v1/billing/invoices", northflankAuth).json()["data"]!["invoices"]!.array.count == 3)

            #expect(try client.post("/_sim/invoices/usageflow/new").json()["ids"] == .array([.string("uf_inv_13")]))
            let usageflow = try client.get("/api/invoices", usageflowAuth).json()["invoices"]!
            #expect(usageflow[0]!["status"]?.string == "PENDING" && usageflow[1]!["status"]?.string == "PENDING")
            #expect(usageflow[0]!["periodStart"]?.string == "2026-11-01T00:00:00.000Z")
            #expect(try client.truth("invoices?provider=usageflow").count == 13)

            #expect(try client.post("/_sim/invoices/northflank/new?account=team-7").status == 404)
            #expect(try client.post("/_sim/invoices/typesense/new?count=0").status == 400)
        }
    }

    @Test func requestCountsPerEndpointAndStatus() throws {
        try withSimulator { _, client in
            _ = try client.get("/v1/billing/invoices", northflankAuth)
            _ = try client.get("/v1/teams/team-1/billing/usage?startTime=0", northflankAuth)
            _ = try client.get("/v1/teams/team-2/billing/usage?startTime=0&per_page=1", northflankAuth)
            _ = try client.get("/api/v1/invoices?page=1", typesenseAuth)
            _ = try client.get("/api/v1/invoices/tsinv_000000000000", typesenseAuth)
            _ = try client.get("/api/invoices", ["x-usageflow-api-key": "wrong"])
            _ = try client.get("/_sim/truth/invoices?provider=usageflow")
            let counts = try client.get("/_sim/requests").text
            #expect(
                counts == """
                    {"total":6,"endpoints":{"GET /api/invoices":1,"GET /api/v1/invoices":1,"GET /api/v1/invoices/{id}":1,\
                    "GET /v1/billing/invoices":1,"GET /v1/teams/{team}/billing/usage":2},"statuses":{"200":4,"401":1,"404":1}}
                    """)
            let log = try client.get("/_sim/requests/log")
            #expect(log.headers["content-type"]?.hasPrefix("text/plain") == true)
            #expect(
                log.text == """
                    200 GET /v1/billing/invoices
                    200 GET /v1/teams/team-1/billing/usage?startTime=0
                    200 GET /v1/teams/team-2/billing/usage?startTime=0&per_page=1
                    200 GET /api/v1/invoices?page=1
                    404 GET /api/v1/invoices/tsinv_000000000000
                    401 GET /api/invoices

                    """)
            #expect(try client.post("/_sim/requests/reset").status == 200)
            #expect(try client.get("/_sim/requests").text == #"{"total":0,"endpoints":{},"statuses":{}}"#)
            #expect(try client.get("/_sim/requests/log").text.isEmpty)
            _ = try client.get("/api/invoices", usageflowAuth)
            #expect(try client.get("/_sim/requests/log").text == "200 GET /api/invoices\n")
        }
    }

    @Test func unknownPathsAreAnswered404() throws {
        try withSimulator { _, client in
            let reply = try client.get("/nothing/here")
            #expect(reply.status == 404)
            #expect(try client.get("/_sim/unknown").status == 404)
            #expect(try client.get("/_sim/health").text == #"{"ok":true}"#)
        }
    }
}

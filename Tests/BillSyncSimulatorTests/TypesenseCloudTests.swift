import BillSyncSimulator
import BillSyncTestSupport
import Foundation
import Testing

@Suite struct TypesenseCloudTests {
    /// The Monday at or before 2026-11-01 (a Sunday).
    static let lastMonday: Int64 = fixedNow - 6 * 86_400

    static func allSummaries(_ client: LoopbackClient, perPage: Int = 50) throws -> [JSON] {
        var invoices: [JSON] = []
        var page = 1
        while true {
            let reply = try client.get("/api/v1/invoices?page=\(page)&per_page=\(perPage)", typesenseAuth).json()
            let batch = reply["invoices"]!.array
            if batch.isEmpty { return invoices }
            invoices += batch
            page += 1
        }
    }

    @Test func pagesListEveryWeeklyInvoiceOnceNewestFirst() throws {
        try withSimulator { _, client in
            let first = try client.get("/api/v1/invoices", typesenseAuth).json()
            #expect(first.keys == ["page", "per_page", "total", "invoices"])
            #expect(first["page"]?.int == 1 && first["per_page"]?.int == 10 && first["total"]?.int == 30)
            #expect(first["invoices"]!.array.count == 10)
            let invoices = try Self.allSummaries(client, perPage: 7)
            #expect(invoices.count == 30)
            #expect(Set(invoices.map { $0["id"]!.string! }).count == 30)
            #expect(invoices.map { $0["number"]!.int! } == (10_000...10_029).reversed().map(Int64.init))
            for (position, invoice) in invoices.enumerated() {
                let index = Int64(29 - position)
                let start = Self.lastMonday - (30 - index) * 7 * 86_400
                #expect(invoice["period_starts_at"]?.int == start)
                #expect(invoice["period_ends_at"]?.int == start + 7 * 86_400 - 1)
                #expect(invoice["invoice_date"]?.int == start + 7 * 86_400)
                #expect(invoice["line_items"] == nil)
                let id = invoice["id"]!.string!
                #expect(id.wholeMatch(of: /tsinv_[0-9a-f]{12}/) != nil)
                #expect(invoice["line_items_path"]?.string == "/api/v1/invoices/\(id)")
                #expect(invoice["invoice_html_url"]?.string == "https://cloud.typesense.org/invoices/\(id)")
                #expect(invoice["account"]?["additional_billing_information"]?.string?.contains("\n") == true)
            }
            #expect(invoices.first?["invoice_date"]?.int == Self.lastMonday)
            let past = try client.get("/api/v1/invoices?page=4&per_page=10", typesenseAuth).json()
            #expect(past["invoices"]!.array.isEmpty && past["total"]?.int == 30 && past["page"]?.int == 4)
        }
    }

    @Test func statusesAndPaymentsFollowTheSchedule() throws {
        try withSimulator { _, client in
            let invoices = try Self.allSummaries(client)
            var creditsSeen = 0
            for invoice in invoices {
                let index = invoice["number"]!.int! - 10_000
                let expected = index == 3 ? "uncollectible" : index >= 28 ? "due" : "paid"
                #expect(invoice["status"]?.string == expected)
                let payment = invoice["payment"]!
                let card = payment["paid_via_card_cents"]!.int!
                let credits = payment["paid_via_credits_cents"]!.int!
                if expected == "paid" {
                    #expect(card + credits == invoice["amount_cents"]!.int!)
                    if credits > 0 { creditsSeen += 1 }
                } else {
                    #expect(card == 0 && credits == 0)
                }
                #expect(payment["credit_balance_snapshot_cents"]!.int! >= 0)
            }
            #expect(creditsSeen > 0)
        }
    }

    @Test func detailsAddLineItemsThatAddUpToTheAmount() throws {
        try withSimulator { _, client in
            for summary in try Self.allSummaries(client) {
                let index = Int(summary["number"]!.int! - 10_000)
                let detail = try client.get(summary["line_items_path"]!.string!, typesenseAuth).json()
                #expect(detail.keys == summary.keys + ["line_items"])
                for key in summary.keys {
                    #expect(detail[key] == summary[key])
                }
                let items = detail["line_items"]!.array
                #expect((2...5).contains(items.count))
                let types = items.map { $0["line_item_type"]!.string! }
                #expect(types.contains("support") == ((index + 1) % 4 == 0))
                #expect(types.contains("prepaid_credit_purchase") == ((index + 1) % 10 == 0))
                var sum: Int64 = 0
                for item in items {
                    #expect(
                        item.keys == [
                            "description", "unit_price_cents", "quantity", "price_cents", "line_item_type",
                            "parameters",
                        ])
                    let unit = item["unit_price_cents"]!.int!
                    let price = item["price_cents"]!.int!
                    let parameters = item["parameters"]!
                    switch item["line_item_type"]!.string! {
                    case "node":
                        #expect(item["quantity"]?.number == "168")
                        #expect(price == 168 * unit)
                        #expect(parameters.keys.count == 9 && parameters["cluster_id"]?.string != nil)
                    case "bandwidth":
                        // price = round(quantity × unit), half up, in whole cents.
                        let exact = Exact(item["quantity"]!.number!)!.times(Int128(unit))
                        let cents = Exact(units: Int128(price) * 1_000_000_000_000)
                        #expect(exact - cents < Exact("0.5")! && cents - exact <= Exact("0.5")!)
                        #expect(parameters["region"]?.string != nil)
                    case "support":
                        #expect(item["quantity"]?.number == "1" && price == unit)
                        #expect(parameters.keys == ["plan_name", "starts_at", "ends_at"])
                        #expect(parameters["starts_at"] == summary["period_starts_at"])
                        #expect(parameters["ends_at"] == summary["period_ends_at"])
                    case "prepaid_credit_purchase":
                        #expect(unit == 10_000 && price == unit * item["quantity"]!.int!)
                        #expect(parameters.keys.isEmpty)
                    default:
                        Issue.record("unexpected line item type \(item)")
                    }
                    sum += price
                }
                let discount: Int64 = (index + 1) % 7 == 0 ? 100 : 0
                #expect(detail["amount_cents"]!.int! == sum - discount)
            }
        }
    }

    @Test func bandwidthQuantitiesAreSometimesFractional() throws {
        try withSimulator { _, client in
            let truth = try client.truth("invoices?provider=typesense")
            let quantities = truth.flatMap { $0["line_items"]!.array }.filter { $0["type"]?.string == "bandwidth" }
                .map { $0["quantity"]!.string! }
            #expect(quantities.contains { $0.contains(".") })
            #expect(quantities.contains { !$0.contains(".") } || quantities.count < 10)
        }
    }

    @Test func hostileDescriptionsAreEscapedAndSurviveParsing() throws {
        try withSimulator(fixedOptions { $0.hostileText = true }) { _, client in
            var descriptions: [String] = []
            for summary in try Self.allSummaries(client).prefix(12) {
                let reply = try client.get(summary["line_items_path"]!.string!, typesenseAuth)
                let parsed = try reply.json()
                // Foundation's parser must agree with ours on every string.
                let foundation = try JSONSerialization.jsonObject(with: Data(reply.body)) as! [String: Any]
                let foundationItems = foundation["line_items"] as! [[String: Any]]
                for (item, other) in zip(parsed["line_items"]!.array, foundationItems) {
                    #expect(item["description"]?.string == other["description"] as? String)
                    descriptions.append(item["description"]!.string!)
                }
            }
            let joined = descriptions.joined(separator: "\u{0}")
            for fragment in [",", "\"", "\n", "\r\n", "\t", ";", "|", "🚀", "\u{200F}", "Zürich – 東京", "\u{01}"] {
                #expect(joined.contains(fragment), "no description contains \(fragment.debugDescription)")
            }
            for lead in ["=", "+", "-", "@", "\t"] {
                #expect(
                    descriptions.contains { $0.hasPrefix(lead) }, "no description starts with \(lead.debugDescription)")
            }
        }
    }

    @Test func rejectsWhatTheRealAPIRejects() throws {
        try withSimulator { _, client in
            let forbidden =
                #"{"message":"Forbidden - a valid `X-TYPESENSE-CLOUD-MANAGEMENT-API-KEY` header must be sent."}"#
            let missing = try client.get("/api/v1/invoices")
            #expect(missing.status == 401 && missing.text == forbidden)
            #expect(try client.get("/api/v1/invoices", ["X-TYPESENSE-CLOUD-MANAGEMENT-API-KEY": "nope"]).status == 401)
            // Header names are case-insensitive.
            #expect(
                try client.get("/api/v1/invoices", ["x-typesense-cloud-management-api-key": "ts-sim-key"]).status == 200
            )
            let tooMany = try client.get("/api/v1/invoices?per_page=51", typesenseAuth)
            #expect(tooMany.status == 400 && tooMany.text == #"{"message":"per_page must be at most 50"}"#)
            #expect(try client.get("/api/v1/invoices?page=0", typesenseAuth).status == 400)
            let unknown = try client.get("/api/v1/invoices/tsinv_000000000000", typesenseAuth)
            #expect(unknown.status == 404 && unknown.text == #"{"message":"Not Found"}"#)
            #expect(try client.get("/api/v1/invoices/nonsense", typesenseAuth).status == 404)
            #expect(try client.get("/api/v1/clusters", typesenseAuth).status == 404)
        }
    }
}

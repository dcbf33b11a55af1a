import BillSyncCore
import BillSyncHTTP
import BillSyncProviders
import Testing

/// The neighbouring JSON types the README's field table accepts, read exactly, and the types it
/// refuses, named with the field.
@Suite struct FieldTypesTests {
    let client = ProviderClient(
        http: PacedHTTP(client: HTTPClient(), rateLimit: nil, retry: RetryPolicy(), stop: StopFlag()),
        baseURL: "http://127.0.0.1:9", authHeader: ("x", "y"), secret: "unused-secret")

    func json(_ text: String) throws -> JSONValue { try JSONValue.parse(text) }

    @Test func idsMayBeNumbersAmountsStringsAndTimesIntegralFloats() throws {
        let nf = NorthflankProvider(client: client, team: nil, amountsInCents: true, currency: "USD")
        let page = try nf.decodeInvoicePage(
            try json(
                """
                {"data":{"invoices":[{"id":12345,"period":{"start":1790812800.0,"end":"1793491199"},"total":"1250.5",
                "subTotal":1.2505e3,"paid":true,"currency":"usd","paasUsage":{"price":{"cpu":"1250.50"}}}]},
                "pagination":{"hasNextPage":false,"count":1}}
                """), cursor: nil)
        let invoice = try #require(page.invoices.first)
        #expect(invoice.id == "12345" && invoice.fallbacks == [])
        #expect(invoice.periodStart == 1_790_812_800 && invoice.periodEnd == 1_793_491_200)
        #expect(invoice.total.description == "12.505" && invoice.subtotal?.description == "12.505")
        #expect(invoice.lineItems?.map(\.amount.description) == ["12.505"])

        let ts = TypesenseCloudProvider(client: client)
        let detail = try ts.decodeInvoiceDetail(
            try json(
                """
                {"id":987,"number":"12345","status":"paid","amount_cents":"2500","invoice_date":1702857600.0,
                "period_starts_at":1700179200,"period_ends_at":1702857599,
                "line_items":[{"line_item_type":"node","price_cents":2500.0,"quantity":"720","unit_price_cents":"3.47"}]}
                """), id: "987")
        #expect(detail.id == "987" && detail.number == "12345" && detail.total.description == "25.00")
        #expect(
            detail.lineItems?.first?.quantity == ExactDecimal(720)
                && detail.lineItems?.first?.unitPrice?.description == "0.0347")

        let uf = UsageFlowProvider(client: client, currency: "EUR")
        let list = try uf.decodeInvoicePage(
            try json(
                """
                {"invoices":[{"id":7,"amount":"120.00","status":"PAID","periodStart":"2025-03-01T00:00:00.000Z",
                "periodEnd":"2025-04-01T00:00:00.000Z","createdAt":"2025-04-01T00:00:00.000Z"}]}
                """), cursor: nil)
        #expect(list.invoices.first?.id == "7" && list.invoices.first?.total.description == "120.00")
    }

    @Test func anythingElseNamesTheFieldAndTheType() throws {
        let uf = UsageFlowProvider(client: client, currency: "EUR")
        for (value, problem) in [
            ("true", "expected number, found boolean"),
            ("\"12,50\"", "expected a number or a string holding one, found the string \"12,50\""),
            ("{}", "expected number, found object"),
        ] {
            #expect(throws: ProviderError.self) {
                try uf.decodeInvoicePage(
                    try json(
                        #"{"invoices":[{"id":"a","amount":\#(value),"status":"PAID","periodEnd":"2025-04-01T00:00:00Z"}]}"#
                    ), cursor: nil)
            }
            do {
                _ = try uf.decodeInvoicePage(
                    try json(
                        #"{"invoices":[{"id":"a","amount":\#(value),"status":"PAID","periodEnd":"2025-04-01T00:00:00Z"}]}"#
                    ), cursor: nil)
            } catch {
                #expect("\(error)" == "GET /api/invoices: unexpected response: field $.invoices[0].amount: \(problem)")
            }
        }
        let nf = NorthflankProvider(client: client, team: nil, amountsInCents: true, currency: "USD")
        do {
            _ = try nf.decodeInvoicePage(
                try json(
                    """
                    {"data":{"invoices":[{"id":"a","period":{"start":1790812800.5,"end":1793491199},"total":1}]},"pagination":{"hasNextPage":false,"count":1}}
                    """), cursor: nil)
            Issue.record("a fractional time was accepted")
        } catch {
            #expect(
                "\(error)".hasSuffix(
                    "field $.data.invoices[0].period.start: expected a whole number, found 1790812800.50"))
        }
    }
}

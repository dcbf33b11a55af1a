import BillSyncCore
import BillSyncHTTP
import BillSyncProviders
import BillSyncSimulator
import BillSyncTestSupport
import Testing

/// The Typesense Cloud detail scanner reads invoice details without a JSON tree and hands
/// anything unusual to the general decoder. Checked both ways, as the usage scanner is: where
/// the scanner answers, the general decoder gives the same invoice; where the general decoder
/// refuses, the scanner does not answer; the production path (scan, else decode) always
/// equals the general decoder.
@Suite struct TypesenseDetailScannerTests {
    static func provider() -> TypesenseCloudProvider {
        TypesenseCloudProvider(
            client: ProviderClient(
                http: PacedHTTP(client: HTTPClient(), rateLimit: nil, retry: RetryPolicy(), stop: StopFlag()),
                baseURL: "http://127.0.0.1:9", authHeader: ("x", "y"), secret: "unused-secret"))
    }

    enum Outcome: Equatable {
        case invoice(Invoice)
        case failed(String)
    }

    static func general(_ ts: TypesenseCloudProvider, _ body: [UInt8], id: String) -> Outcome {
        do throws(ProviderError) {
            return .invoice(
                try ts.decodeInvoiceDetail(ProviderClient.parse(body, endpoint: "/api/v1/invoices/" + id), id: id))
        } catch {
            return .failed(error.description)
        }
    }

    static func production(_ ts: TypesenseCloudProvider, _ body: [UInt8], id: String) -> Outcome {
        do throws(ProviderError) {
            return .invoice(try ts.decodeInvoiceDetail(body: body, id: id))
        } catch {
            return .failed(error.description)
        }
    }

    /// Returns whether the scanner answered.
    @discardableResult
    static func check(_ ts: TypesenseCloudProvider, _ body: [UInt8], id: String, _ label: String) -> Bool {
        let expected = general(ts, body, id: id)
        #expect(
            production(ts, body, id: id) == expected, "\(label): \(String(decoding: body.prefix(300), as: UTF8.self))")
        guard let scanned = ts.scanInvoiceDetail(body: body) else { return false }
        if scanned.id == id {
            #expect(expected == .invoice(scanned), "\(label): scanner answered differently")
        }
        return true
    }

    static func sample(_ sim: SimHarness) throws -> (id: String, body: [UInt8]) {
        let header = ("X-TYPESENSE-CLOUD-MANAGEMENT-API-KEY", sim.options.typesenseKey)
        let list = try HTTPClient().get(sim.base + "/api/v1/invoices?page=1&per_page=50", headers: [header])
        guard case .object(let root) = try JSONValue.parse(list.body), case .array(let items)? = root["invoices"],
            case .object(let first)? = items.first, case .string(let id)? = first["id"]
        else { throw SampleMissing() }
        let detail = try HTTPClient().get(sim.base + "/api/v1/invoices/" + id, headers: [header])
        #expect(detail.status == 200)
        return (id, detail.body)
    }

    struct SampleMissing: Error {}

    @Test func handShapedDetailsReadTheSameBothWays() throws {
        let ts = Self.provider()
        func detail(_ members: String, lines: String = Self.lines) -> [UInt8] {
            Array(
                #"{"id":"inv_1","amount_cents":12345,"period_starts_at":1790812800,"period_ends_at":1791417599,\#(members)"line_items":[\#(lines)]}"#
                    .utf8)
        }
        #expect(Self.check(ts, detail(#""status":"paid","invoice_date":1791417600,"#), id: "inv_1", "plain"))
        #expect(Self.check(ts, detail(""), id: "inv_1", "no status, no date"))
        #expect(
            Self.check(
                ts,
                detail(
                    #""number":10999,"status":"due","payment":{"paid_via_card_cents":0,"paid_via_credits_cents":2500.5},"invoice_html_url":"https://x.example/i?a=1&b=\/2","#
                ), id: "inv_1", "numeric number, credits, escaped slash"))
        // Whitespace anywhere JSON allows it, members in another order, unknown members with
        // escapes, raw UTF-8 in the text read.
        let spaced = Array(
            (" {\n \"account\" : { \"owner_name\" : \"Acme \\\"Q\\\" Corp\" , \"info\" : \"a\\nb\\tc\\\\\" , \"n\" : [ 1 , { } , null , true ] } ,"
                + " \"period_ends_at\" : 1791417599 , \"line_items\" : [ { \"price_cents\" : -250 , \"line_item_type\" : \"credit_note\" ,"
                + " \"description\" : \"Remise — São Paulo \\\"VIP\\\"\" , \"parameters\" : { } } ] , \"amount_cents\" : -250 ,"
                + " \"id\" : 42 , \"period_starts_at\" : 1790812800 , \"status\" : \"void\" }\r\n").utf8)
        #expect(Self.check(ts, spaced, id: "42", "spaced"))
        // Every number form JSON allows, in amounts, quantities and flat parameters.
        let numbers =
            #"{"line_item_type":"bandwidth","price_cents":1.5e2,"quantity":2.9e-7,"unit_price_cents":1E+2,"parameters":{"z":-4.5E-3,"cluster_id":123,"a":true,"m":"x y","b":false}}"#
        #expect(Self.check(ts, detail("", lines: numbers), id: "inv_1", "number forms"))
        #expect(Self.check(ts, detail("", lines: ""), id: "inv_1", "no lines"))
        let unitemized = Array(#"{"id":"inv_1","amount_cents":1,"period_starts_at":1,"period_ends_at":2}"#.utf8)
        #expect(Self.check(ts, unitemized, id: "inv_1", "no line_items"))
        // Left to the general decoder (the scanner gives up), with the same result either way.
        let handedOver: [(String, [UInt8])] = [
            ("duplicate id", detail(#""id":"inv_2","#)),
            ("duplicate amount", detail(#""amount_cents":1,"#)),
            ("null status", detail(#""status":null,"#)),
            ("numeric status", detail(#""status":1,"#)),
            (
                "string amount",
                Array(#"{"id":"inv_1","amount_cents":"12","period_starts_at":1,"period_ends_at":2}"#.utf8)
            ),
            ("null date", detail(#""invoice_date":null,"#)),
            ("fractional date", detail(#""invoice_date":1791417600.0,"#)),
            ("exponent date", detail(#""invoice_date":1.7914176e9,"#)),
            ("negative date", detail(#""invoice_date":-1,"#)),
            ("date past 9999", detail(#""invoice_date":253402300800,"#)),
            ("payment not an object", detail(#""payment":[],"#)),
            ("credits twice", detail(#""payment":{"paid_via_credits_cents":1,"paid_via_credits_cents":2},"#)),
            ("unicode escape", detail(#""status":"p\u0061id","#)),
            ("unicode escape skipped", detail(#""account":{"owner":"\u00e9"},"#)),
            ("escaped key", detail(#""st\u0061tus":"paid","#)),
            ("bad escape", detail(#""account":{"owner":"\x"},"#)),
            ("control character", detail("\"status\":\"pa\tid\",")),
            (
                "nested parameters",
                detail("", lines: #"{"line_item_type":"node","price_cents":1,"parameters":{"a":{"b":1}}}"#)
            ),
            (
                "null parameter",
                detail("", lines: #"{"line_item_type":"node","price_cents":1,"parameters":{"a":null}}"#)
            ),
            (
                "parameter with DEL",
                detail("", lines: "{\"line_item_type\":\"node\",\"price_cents\":1,\"parameters\":{\"a\":\"x\u{7F}\"}}")
            ),
            (
                "parameter with UTF-8",
                detail("", lines: #"{"line_item_type":"node","price_cents":1,"parameters":{"a":"é"}}"#)
            ),
            (
                "parameter escaped",
                detail("", lines: #"{"line_item_type":"node","price_cents":1,"parameters":{"a":"\n"}}"#)
            ),
            (
                "repeated parameter",
                detail("", lines: #"{"line_item_type":"node","price_cents":1,"parameters":{"a":1,"a":2}}"#)
            ),
            (
                "boolean cluster",
                detail("", lines: #"{"line_item_type":"node","price_cents":1,"parameters":{"cluster_id":true}}"#)
            ),
            ("parameters a list", detail("", lines: #"{"line_item_type":"node","price_cents":1,"parameters":[]}"#)),
            ("no type", detail("", lines: #"{"price_cents":1}"#)),
            ("no price", detail("", lines: #"{"line_item_type":"node"}"#)),
            ("null quantity", detail("", lines: #"{"line_item_type":"node","price_cents":1,"quantity":null}"#)),
            ("13 decimals", detail("", lines: #"{"line_item_type":"node","price_cents":1,"quantity":1e-13}"#)),
            ("leading zero", detail("", lines: #"{"line_item_type":"node","price_cents":01}"#)),
            ("line not an object", detail("", lines: "1")),
            ("trailing text", detail("") + Array(" x".utf8)),
            ("truncated", Array(detail("").dropLast(2))),
            (
                "deep nesting",
                detail(#""x":"# + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + ",")
            ),
        ]
        for (label, body) in handedOver {
            #expect(!Self.check(ts, body, id: "inv_1", label), "\(label): the scanner should have handed this over")
        }
        // A detail that answers with another invoice is refused on both paths, in the same words.
        let other = detail("")
        #expect(Self.production(ts, other, id: "inv_9") == Self.general(ts, other, id: "inv_9"))
        if case .invoice = Self.production(ts, other, id: "inv_9") { Issue.record("another invoice was accepted") }
    }

    static let lines =
        #"{"description":"Node -- c1","unit_price_cents":100,"quantity":24,"price_cents":2400,"line_item_type":"node","parameters":{"cluster_id":"c1","region":"n_virginia","memory_option":"16gb"}},{"description":"Prepaid Credit Purchase","unit_price_cents":10000,"quantity":22,"price_cents":220000,"line_item_type":"prepaid_credit_purchase","parameters":{}}"#

    /// The simulator's own details are read directly, also with hostile text in them; so are
    /// most of their mutations, and every answer equals the general decoder's.
    @Test func mutatedSimulatorDetailsReadTheSameBothWays() throws {
        let ts = Self.provider()
        for hostile in [false, true] {
            let sim = try SimHarness {
                $0.seed = 13
                $0.hostileText = hostile
                $0.typesenseInvoices = 5
            }
            let (id, sample) = try Self.sample(sim)
            #expect(
                Self.check(ts, sample, id: id, "simulator detail") || hostile,
                "the scanner should read the simulator's own detail")
            guard case .invoice(let invoice) = Self.general(ts, sample, id: id) else {
                Issue.record("sample did not decode")
                continue
            }
            #expect((invoice.lineItems?.count ?? 0) >= 3)
            #expect(invoice.lineItems?.contains { !$0.attributes.isEmpty && !$0.resourceID.isEmpty } == true)
            let original = try JSONValue.parse(sample)
            var dice = Dice(state: hostile ? 20_261_203 : 20_261_202)
            var scanned = 0
            let total = 1000
            for i in 0..<total {
                let body = DecoderFuzzTests.mutatedBody(original, i, &dice)
                if Self.check(ts, body, id: id, "mutation \(i)") { scanned += 1 }
            }
            #expect(scanned > total / 5 && scanned < total, "scanned \(scanned) of \(total)")
            print(
                "typesense detail scanner (hostile text: \(hostile)): \(total) mutated details, \(scanned) read directly, all equal"
            )
        }
    }
}

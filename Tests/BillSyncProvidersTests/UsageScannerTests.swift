import BillSyncCore
import BillSyncHTTP
import BillSyncProviders
import BillSyncSimulator
import BillSyncTestSupport
import Testing

/// The usage page scanner reads pages without a JSON tree and hands anything unusual to the
/// general decoder. Checked both ways on real, reshaped and damaged pages: where the scanner
/// answers, the general decoder gives the same page; where the general decoder refuses, the
/// scanner does not answer; and the production path (scan, else decode) always equals the
/// general decoder.
@Suite struct UsageScannerTests {
    static let start: Int64 = 1_790_812_800
    static let end = start + 360_000

    static func provider(cents: Bool = true) -> NorthflankProvider {
        let dummy = ProviderClient(
            http: PacedHTTP(client: HTTPClient(), rateLimit: nil, retry: RetryPolicy(), stop: StopFlag()),
            baseURL: "http://127.0.0.1:9", authHeader: ("x", "y"), secret: "unused-secret")
        return NorthflankProvider(client: dummy, team: "team-1", amountsInCents: cents, currency: "USD")
    }

    static func samplePage() throws -> [UInt8] {
        let sim = try SimHarness { $0.seed = 11 }
        let response = try HTTPClient().get(
            "\(sim.base)/v1/teams/team-1/billing/usage?startTime=\(start)&endTime=\(end)&per_page=100",
            headers: [("Authorization", "Bearer " + sim.options.northflankKey)])
        #expect(response.status == 200)
        return response.body
    }

    enum Outcome: Equatable {
        case page([UsageHour], String?)
        case failed(String)
    }

    static func general(_ nf: NorthflankProvider, _ body: [UInt8], cursor: String? = nil) -> Outcome {
        do throws(ProviderError) {
            let page = try nf.decodeUsagePage(
                ProviderClient.parse(body, endpoint: nf.usageEndpoint), start: start, end: end, cursor: cursor)
            return .page(page.hours, page.next)
        } catch {
            return .failed(error.description)
        }
    }

    static func production(_ nf: NorthflankProvider, _ body: [UInt8], cursor: String? = nil) -> Outcome {
        do throws(ProviderError) {
            let page = try nf.decodeUsagePage(body: body, start: start, end: end, cursor: cursor)
            return .page(page.hours, page.next)
        } catch {
            return .failed(error.description)
        }
    }

    /// Returns whether the scanner answered.
    @discardableResult
    static func check(_ nf: NorthflankProvider, _ body: [UInt8], _ label: String) -> Bool {
        let expected = general(nf, body)
        #expect(production(nf, body) == expected, "\(label): \(String(decoding: body.prefix(300), as: UTF8.self))")
        guard let scanned = nf.scanUsagePage(body: body, start: start, end: end) else { return false }
        #expect(expected == .page(scanned.hours, scanned.next), "\(label): scanner answered differently")
        return true
    }

    @Test func handShapedPagesReadTheSameBothWays() throws {
        let nf = Self.provider()
        let hour = Self.start + 3600
        func page(_ item: String, pagination: String = #""pagination":{"hasNextPage":false,"count":1}"#) -> [UInt8] {
            Array(#"{"data":{"usage":[\#(item)]},\#(pagination)}"#.utf8)
        }
        let plain =
            #"{"timestamp":\#(hour),"paasUsage":{"price":{"total":388.988747,"cpu":323.269996,"memory":53.739622,"storage":11.979129,"gpu":0}},"byocUsage":{"price":{"total":1.5,"vcpu":1,"memory":0.50,"gpuMemory":0,"cluster":0}}}"#
        #expect(Self.check(nf, page(plain), "plain"))
        // Whitespace anywhere JSON allows it, members in another order, unknown members.
        let spaced =
            " {\n \"pagination\" : { \"count\" : 1 , \"hasNextPage\" : false } ,\t\"data\" : { \"x\" : [ { } , null , true , -0.5 ] , \"usage\" : [ { \"byocUsage\" : { \"price\" : { \"cluster\" : 2.25 } , \"note\" : \"n\" } , \"timestamp\" : \(hour) } ] } , \"meta\" : { \"deep\" : [ [ [ 1 ] ] ] } }\r\n"
        #expect(Self.check(nf, Array(spaced.utf8), "spaced"))
        #expect(
            Self.check(nf, page(plain, pagination: #""pagination":{"hasNextPage":true,"cursor":"abc=="}"#), "cursor"))
        #expect(Self.check(nf, Array(#"{"pagination":{"hasNextPage":false}}"#.utf8), "no data"))
        #expect(Self.check(nf, Array(#"{"data":{},"pagination":{"hasNextPage":false}}"#.utf8), "no usage"))
        // Left to the general decoder (the scanner gives up), with the same result either way.
        let handedOver: [(String, [UInt8])] = [
            ("exponent", page(#"{"timestamp":\#(hour),"paasUsage":{"price":{"total":1.5e2}}}"#)),
            ("duplicate timestamp", page(#"{"timestamp":1,"timestamp":\#(hour)}"#)),
            ("duplicate amount", page(#"{"timestamp":\#(hour),"paasUsage":{"price":{"cpu":1,"cpu":2}}}"#)),
            ("escaped key", page(#"{"tim\u0065stamp":\#(hour)}"#)),
            ("null group", page(#"{"timestamp":\#(hour),"paasUsage":null}"#)),
            ("null amount", page(#"{"timestamp":\#(hour),"paasUsage":{"price":{"cpu":null}}}"#)),
            ("string amount", page(#"{"timestamp":\#(hour),"paasUsage":{"price":{"cpu":"1.5"}}}"#)),
            ("19 digits", page(#"{"timestamp":\#(hour),"paasUsage":{"price":{"cpu":1234567890.123456789}}}"#)),
            ("13 decimals", page(#"{"timestamp":\#(hour),"paasUsage":{"price":{"cpu":0.0000000000001}}}"#)),
            ("huge", page(#"{"timestamp":\#(hour),"paasUsage":{"price":{"cpu":100000000000000000}}}"#)),
            ("leading zero", page(#"{"timestamp":\#(hour),"paasUsage":{"price":{"cpu":01}}}"#)),
            ("fractional timestamp", page(#"{"timestamp":\#(hour).0}"#)),
            ("timestamp mid-hour", page(#"{"timestamp":\#(hour + 60)}"#)),
            ("timestamp outside window", page(#"{"timestamp":\#(Self.end)}"#)),
            ("no timestamp", page(#"{"paasUsage":{"price":{"cpu":1}}}"#)),
            ("numeric cursor", page(plain, pagination: #""pagination":{"hasNextPage":true,"cursor":7}"#)),
            ("empty cursor", page(plain, pagination: #""pagination":{"hasNextPage":true,"cursor":""}"#)),
            ("no pagination", Array(#"{"data":{"usage":[]}}"#.utf8)),
            ("non-ASCII cursor", page(plain, pagination: #""pagination":{"hasNextPage":true,"cursor":"é"}"#)),
            ("trailing comma", page(plain + ",")),
            ("trailing text", page(plain) + Array(" x".utf8)),
            ("truncated", Array(page(plain).dropLast(3))),
            (
                "deep nesting",
                page(
                    #"{"timestamp":\#(hour),"x":"# + String(repeating: "[", count: 70)
                        + String(repeating: "]", count: 70) + "}")
            ),
        ]
        for (label, body) in handedOver {
            #expect(!Self.check(nf, body, label), "\(label): the scanner should have handed this over")
        }
        // A cursor that repeats is refused on both paths.
        let repeating = page(plain, pagination: #""pagination":{"hasNextPage":true,"cursor":"c1"}"#)
        #expect(Self.production(nf, repeating, cursor: "c1") == Self.general(nf, repeating, cursor: "c1"))
        if case .page = Self.production(nf, repeating, cursor: "c1") { Issue.record("a repeating cursor was accepted") }
        // Decimal accounts read the same way as cents accounts.
        #expect(Self.check(Self.provider(cents: false), page(plain), "decimal units"))
    }

    @Test func mutatedSimulatorPagesReadTheSameBothWays() throws {
        let nf = Self.provider()
        let sample = try Self.samplePage()
        #expect(Self.check(nf, sample, "simulator page"), "the scanner should read the simulator's own page")
        guard case .page(let hours, _) = Self.general(nf, sample) else {
            Issue.record("sample did not decode")
            return
        }
        #expect(hours.count == 100)
        let original = try JSONValue.parse(sample)
        var dice = Dice(state: 20_261_122)
        var scanned = 0
        let total = 1500
        for i in 0..<total {
            var mutated = DecoderFuzzTests.mutate(original, &dice)
            if dice.below(3) == 0 { mutated = DecoderFuzzTests.mutate(mutated, &dice) }
            var body = Array(mutated.canonicalText.utf8)
            if i % 4 == 0 { body = DecoderFuzzTests.damage(body, &dice) }
            if Self.check(nf, body, "mutation \(i)") { scanned += 1 }
        }
        // Most mutations leave a page the scanner still reads; the rest go the general way.
        #expect(scanned > total / 5 && scanned < total, "scanned \(scanned) of \(total)")
        print(
            "usage scanner: \(total) mutated pages, \(scanned) read directly, \(total - scanned) handed to the general decoder, all equal"
        )
    }
}

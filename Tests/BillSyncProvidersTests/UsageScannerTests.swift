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

    static func samplePage(javaScriptNumbers: Bool = false) throws -> [UInt8] {
        try samplePage(
            SimHarness {
                $0.seed = 11
                $0.javaScriptNumbers = javaScriptNumbers
            })
    }

    static func samplePage(_ sim: SimHarness) throws -> [UInt8] {
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
        // Every number form JSON allows, as JavaScript writes small and large floats.
        let exponents =
            #"{"timestamp":\#(hour),"paasUsage":{"price":{"total":1.5e2,"cpu":2.9e-7,"memory":1E+2,"storage":-4.5E-3,"gpu":0e0}},"byocUsage":{"price":{"vcpu":12e-1,"cluster":1e-8}}}"#
        #expect(Self.check(nf, page(exponents), "exponents"))
        #expect(Self.check(Self.provider(cents: false), page(exponents), "exponents in decimal units"))
        #expect(Self.check(nf, Array(#"{"data":{},"pagination":{"hasNextPage":false}}"#.utf8), "no usage"))
        // Left to the general decoder (the scanner gives up), with the same result either way.
        let handedOver: [(String, [UInt8])] = [
            ("duplicate timestamp", page(#"{"timestamp":1,"timestamp":\#(hour)}"#)),
            ("duplicate amount", page(#"{"timestamp":\#(hour),"paasUsage":{"price":{"cpu":1,"cpu":2}}}"#)),
            ("escaped key", page(#"{"tim\u0065stamp":\#(hour)}"#)),
            ("null group", page(#"{"timestamp":\#(hour),"paasUsage":null}"#)),
            ("null amount", page(#"{"timestamp":\#(hour),"paasUsage":{"price":{"cpu":null}}}"#)),
            ("string amount", page(#"{"timestamp":\#(hour),"paasUsage":{"price":{"cpu":"1.5"}}}"#)),
            ("19 digits", page(#"{"timestamp":\#(hour),"paasUsage":{"price":{"cpu":1234567890.123456789}}}"#)),
            ("13 decimals", page(#"{"timestamp":\#(hour),"paasUsage":{"price":{"cpu":0.0000000000001}}}"#)),
            ("13 decimals by exponent", page(#"{"timestamp":\#(hour),"paasUsage":{"price":{"cpu":1e-13}}}"#)),
            ("huge by exponent", page(#"{"timestamp":\#(hour),"paasUsage":{"price":{"cpu":1e15}}}"#)),
            ("exponent beyond 40", page(#"{"timestamp":\#(hour),"paasUsage":{"price":{"cpu":0e41}}}"#)),
            ("exponent without digits", page(#"{"timestamp":\#(hour),"paasUsage":{"price":{"cpu":1e+}}}"#)),
            ("fraction without digits", page(#"{"timestamp":\#(hour),"paasUsage":{"price":{"cpu":1.e5}}}"#)),
            ("plus sign", page(#"{"timestamp":\#(hour),"paasUsage":{"price":{"cpu":+1}}}"#)),
            ("exponent timestamp", page(#"{"timestamp":1.7908164e9}"#)),
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
            let body = DecoderFuzzTests.mutatedBody(original, i, &dice)
            if Self.check(nf, body, "mutation \(i)") { scanned += 1 }
        }
        // Most mutations leave a page the scanner still reads; the rest go the general way.
        #expect(scanned > total / 5 && scanned < total, "scanned \(scanned) of \(total)")
        print(
            "usage scanner: \(total) mutated pages, \(scanned) read directly, \(total - scanned) handed to the general decoder, all equal"
        )
    }

    /// A page as a JavaScript server writes it (`2.9e-7`) is read by the scanner, not handed
    /// over, to the amounts of the simulator's ground truth; so are its mutations, both ways.
    @Test func javaScriptStyleSimulatorPagesAreReadDirectly() throws {
        let nf = Self.provider()
        let sim = try SimHarness {
            $0.seed = 11
            $0.javaScriptNumbers = true
        }
        let sample = try Self.samplePage(sim)
        let text = String(decoding: sample, as: UTF8.self)
        let exponents = text.components(separatedBy: "e-").count - 1
        #expect(exponents >= 20, "the page should hold numbers with exponents, has \(exponents)")
        #expect(!text.contains("0.0000000"), "JavaScript writes an exponent below 10^-6")
        #expect(Self.check(nf, sample, "javascript page"), "the scanner should read a JavaScript-style page")
        guard let scanned = nf.scanUsagePage(body: sample, start: Self.start, end: Self.end) else { return }
        #expect(scanned.hours.count == 100)
        let truth = try JSONValue.parse(
            try HTTPClient().get(
                "\(sim.base)/_sim/truth/usage?account=team-1&start=\(Self.start)&end=\(Self.end)", headers: []
            )
            .body)
        guard case .array(let rows) = truth else {
            Issue.record("no ground truth")
            return
        }
        var tiny = 0
        for (hour, row) in zip(scanned.hours, rows.prefix(100)) {
            guard case .object(let members) = row else { continue }
            func amount(_ name: String) -> ExactDecimal? {
                guard case .string(let text)? = members[name] else { return nil }
                return try? ExactDecimal(parsing: text)
            }
            #expect(members["hour"] == .number(String(hour.hourStart)))
            #expect(hour.storage == amount("storage"), "storage of \(hour.hourStart)")
            #expect(hour.byocCluster == amount("byoc_cluster"), "cluster of \(hour.hourStart)")
            #expect(hour.cpu == amount("cpu") && hour.paasTotal == amount("paas_total"))
            #expect(hour.byocTotal == amount("byoc_total") && hour.byocVCPU == amount("byoc_vcpu"))
            if hour.storage.scale > 8 || hour.byocCluster.scale > 8 { tiny += 1 }
        }
        #expect(tiny >= 10, "amounts below 10^-6 cent (10^-8 dollar): \(tiny)")
        let original = try JSONValue.parse(sample)
        var dice = Dice(state: 20_261_201)
        var read = 0
        for i in 0..<500 {
            var body = Array(DecoderFuzzTests.mutate(original, &dice).canonicalText.utf8)
            if i % 4 == 0 { body = DecoderFuzzTests.damage(body, &dice) }
            if Self.check(nf, body, "javascript mutation \(i)") { read += 1 }
        }
        #expect(read > 100, "read directly: \(read) of 500")
    }
}

import BillSyncCore
import BillSyncHTTP
import BillSyncProviders
import BillSyncSimulator
import BillSyncStore
import BillSyncTestSupport
import Foundation
import Testing

/// Structure-aware fuzzing of the provider decoders and the store: real simulator pages,
/// mutated, fed through parse → decode → commit. No mutation may crash, commit part of a
/// page, or fail with anything but a ``ProviderError`` naming the endpoint.
@Suite struct DecoderFuzzTests {
    static let perProvider = 600

    static let replacements: [JSONValue] = [
        .null, .bool(true), .bool(false), .string(""), .string("abc"), .string("12.5"), .number("0"), .number("-1"),
        .number("1e30"), .number("1e37"), .number("-9e36"), .number("123456789012345678901234567890"),
        .number("0.0000000000000001"), .number("-0.5"), .number("2.9e-7"), .number("1E+3"), .number("-4.5e-2"),
        .number("1e-13"), .number("0e41"), .number("1.5e14"),
        .number("9223372036854775807"), .number("1.5"), .array([]), .object([:]),
        .string(String(repeating: "\u{200F}=;|\"\n", count: 200)),
        .array([.null]), .object(["x": .number("1")]),
    ]

    /// One random structural change somewhere in the tree.
    static func mutate(_ value: JSONValue, _ dice: inout Dice, depth: Int = 0) -> JSONValue {
        let descend = depth < 8 && dice.below(4) != 0
        switch value {
        case .object(var members) where !members.isEmpty:
            let keys = members.keys.sorted()
            let key = keys[dice.below(keys.count)]
            if descend {
                members[key] = mutate(members[key]!, &dice, depth: depth + 1)
            } else {
                switch dice.below(4) {
                case 0: members.removeValue(forKey: key)
                case 1: members[key + "_renamed"] = members.removeValue(forKey: key)
                default: members[key] = replacements[dice.below(replacements.count)]
                }
            }
            return .object(members)
        case .array(var items) where !items.isEmpty:
            let i = dice.below(items.count)
            if descend {
                items[i] = mutate(items[i], &dice, depth: depth + 1)
            } else {
                switch dice.below(4) {
                case 0: items.remove(at: i)
                case 1: items.append(items[i])
                case 2: items = []
                default: items[i] = replacements[dice.below(replacements.count)]
                }
            }
            return .array(items)
        default:
            return replacements[dice.below(replacements.count)]
        }
    }

    /// The `i`-th body of a scanner's corpus: one or two structural changes, every fourth
    /// body also damaged byte by byte.
    static func mutatedBody(_ original: JSONValue, _ i: Int, _ dice: inout Dice) -> [UInt8] {
        var mutated = mutate(original, &dice)
        if dice.below(3) == 0 { mutated = mutate(mutated, &dice) }
        var body = Array(mutated.canonicalText.utf8)
        if i % 4 == 0 { body = damage(body, &dice) }
        return body
    }

    /// Byte-level damage for a share of the corpus: truncation, a flipped or inserted byte, deep nesting.
    static func damage(_ text: [UInt8], _ dice: inout Dice) -> [UInt8] {
        var bytes = text
        switch dice.below(4) {
        case 0: bytes = Array(bytes.prefix(dice.below(bytes.count)))
        case 1: if !bytes.isEmpty { bytes[dice.below(bytes.count)] = UInt8(dice.below(256)) }
        case 2: bytes.insert(UInt8(dice.below(256)), at: dice.below(bytes.count + 1))
        default: bytes = Array(repeating: UInt8(ascii: "["), count: 200) + bytes
        }
        return bytes
    }

    func fetch(_ url: String, header: (String, String)) throws -> [UInt8] {
        let response = try HTTPClient().get(url, headers: [header])
        #expect(response.status == 200, "\(url)")
        return response.body
    }

    struct Endpoint {
        var name: String
        var sample: [UInt8]
        var decode: (JSONValue) throws(ProviderError) -> (invoices: [Invoice], hours: [UsageHour])
    }

    @Test func mutatedResponsesNeverCrashNorCommitPartially() throws {
        let sim = try SimHarness {
            $0.seed = 9
            $0.hostileText = true
            $0.typesenseInvoices = 20
        }
        let base = sim.base
        let options = sim.options
        let dummy = ProviderClient(
            http: PacedHTTP(client: HTTPClient(), rateLimit: nil, retry: RetryPolicy(), stop: StopFlag()),
            baseURL: base, authHeader: ("x", "y"), secret: "unused-secret")
        let nf = NorthflankProvider(client: dummy, team: "team-1", amountsInCents: true, currency: "USD")
        let ts = TypesenseCloudProvider(client: dummy)
        let uf = UsageFlowProvider(client: dummy, currency: "EUR")
        let nfAuth = ("Authorization", "Bearer " + options.northflankKey)
        let tsAuth = ("X-TYPESENSE-CLOUD-MANAGEMENT-API-KEY", options.typesenseKey)
        let tsList = try fetch(base + "/api/v1/invoices?page=1&per_page=50", header: tsAuth)
        guard case .object(let listRoot) = try JSONValue.parse(tsList),
            case .array(let tsItems)? = listRoot["invoices"],
            case .object(let first)? = tsItems.first, case .string(let tsID)? = first["id"]
        else {
            Issue.record("no typesense invoice to fuzz")
            return
        }
        let start: Int64 = 1_790_812_800
        let endpoints: [Endpoint] = [
            Endpoint(
                name: "/v1/teams/team-1/billing/invoices",
                sample: try fetch(base + "/v1/teams/team-1/billing/invoices?per_page=100", header: nfAuth)
            ) { json throws(ProviderError) in
                (try nf.decodeInvoicePage(json, cursor: nil).invoices, [])
            },
            Endpoint(
                name: "/v1/teams/team-1/billing/usage",
                sample: try fetch(
                    base + "/v1/teams/team-1/billing/usage?startTime=\(start)&endTime=\(start + 360_000)&per_page=100",
                    header: nfAuth)
            ) { json throws(ProviderError) in
                ([], try nf.decodeUsagePage(json, start: start, end: start + 360_000, cursor: nil).hours)
            },
            Endpoint(name: "/api/v1/invoices", sample: tsList) { json throws(ProviderError) in
                (
                    try ts.decodeInvoicePage(json, cursor: nil).invoices.map {
                        var i = $0
                        i.lineItems = nil
                        return i
                    }, []
                )
            },
            Endpoint(
                name: "/api/v1/invoices/" + tsID, sample: try fetch(base + "/api/v1/invoices/" + tsID, header: tsAuth)
            ) { json throws(ProviderError) in
                ([try ts.decodeInvoiceDetail(json, id: tsID)], [])
            },
            Endpoint(
                name: "/api/invoices",
                sample: try fetch(base + "/api/invoices", header: ("x-usageflow-api-key", options.usageflowKey))
            ) { json throws(ProviderError) in
                (try uf.decodeInvoicePage(json, cursor: nil).invoices, [])
            },
        ]

        let dir = FileManager.default.temporaryDirectory.path + "/bs-fuzz-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try BillingStore(path: dir + "/fuzz.sqlite3")
        var dice = Dice(state: 20_261_121)
        var accepted = 0
        var rejected = 0
        var kinds: [String: Int] = [:]
        for endpoint in endpoints {
            let original = try JSONValue.parse(endpoint.sample)
            // 600 per provider: Northflank and Typesense split theirs over two endpoints each.
            let count = endpoint.name == "/api/invoices" ? Self.perProvider : Self.perProvider / 2
            for i in 0..<count {
                var mutated = Self.mutate(original, &dice)
                if dice.below(3) == 0 { mutated = Self.mutate(mutated, &dice) }
                var body = Array(mutated.canonicalText.utf8)
                if i % 5 == 0 { body = Self.damage(body, &dice) }
                let before = try store.counts(source: "fuzz")
                let decoded: Result<([Invoice], [UsageHour]), ProviderError>
                do throws(ProviderError) {
                    let json = try ProviderClient.parse(body, endpoint: endpoint.name)
                    decoded = .success(try endpoint.decode(json))
                } catch {
                    decoded = .failure(error)
                }
                switch decoded {
                case .success(let (invoices, hours)):
                    let reconciled = invoices.map { inv -> Invoice in
                        var copy = inv
                        if let lines = inv.lineItems {
                            copy.lineItems = Normalization.reconcile(lines, total: inv.total).lines
                        }
                        return copy
                    }
                    if !reconciled.isEmpty {
                        try store.commitInvoicePage(
                            source: "fuzz", provider: "typesense-cloud", invoices: reconciled,
                            position: .next(cursor: "c\(i)"), seenAt: 1, syncDay: 0)
                    }
                    if !hours.isEmpty {
                        try store.commitUsagePage(
                            source: "fuzz", provider: "northflank", hours: hours,
                            position: .windowDone(doneUntil: start))
                    }
                    accepted += 1
                case .failure(let error):
                    #expect(error.description.hasPrefix("GET " + endpoint.name + ": "), "\(error)")
                    kinds[error.kind, default: 0] += 1
                    #expect(try store.counts(source: "fuzz") == before, "a rejected page changed the store")
                    rejected += 1
                }
            }
        }
        #expect(accepted + rejected == Self.perProvider * 3)
        #expect(rejected > 500, "the corpus should mostly be rejected (\(rejected))")
        #expect(kinds.keys.contains("malformedJSON") && kinds.keys.contains("badField"))
        // Whatever was accepted is consistent: every stored invoice's lines sum to its total.
        for stored in try store.allInvoices() {
            let sum = (stored.invoice.lineItems ?? []).reduce(ExactDecimal.zero) { $0 + $1.amount }
            if !(stored.invoice.lineItems ?? []).isEmpty {
                #expect(sum == stored.invoice.total, "\(stored.invoice.id)")
            }
        }
        print(
            "decoder fuzz: \(accepted + rejected) mutated responses, \(rejected) rejected (\(kinds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))), \(accepted) accepted, 0 crashes"
        )
    }
}

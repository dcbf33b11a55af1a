import BillSyncSimulator
import BillSyncTestSupport
import Foundation
import Testing

@Suite struct FaultTests {
    static func queue(_ client: LoopbackClient, _ query: String) throws {
        let reply = try client.post("/_sim/faults?\(query)")
        #expect(reply.status == 200, "\(reply.text)")
    }

    @Test func statusFaultsSpeakEachProvidersErrorFormat() throws {
        try withSimulator { _, client in
            try Self.queue(client, "path=/v1/&kind=status&code=503&message=down%20for%20maintenance")
            try Self.queue(client, "path=/api/v1/&kind=status&code=502&message=bad%20gateway")
            try Self.queue(client, "path=/api/invoices&kind=status&code=500")
            let northflank = try client.get("/v1/billing/invoices", northflankAuth)
            #expect(northflank.status == 503)
            #expect(northflank.text == #"{"error":{"status":503,"message":"down for maintenance"}}"#)
            #expect(northflank.headers["x-ratelimit-limit"] == "1000")
            let typesense = try client.get("/api/v1/invoices", typesenseAuth)
            #expect(typesense.status == 502 && typesense.text == #"{"message":"bad gateway"}"#)
            let usageflow = try client.get("/api/invoices", usageflowAuth)
            #expect(usageflow.status == 500 && usageflow.text == #"{"error":"Internal Server Error"}"#)
            #expect(try client.get("/api/invoices", usageflowAuth).status == 200)
        }
    }

    @Test func afterSkipsAndCountLimitsTheMatchingRequests() throws {
        try withSimulator { _, client in
            try Self.queue(client, "path=/api/invoices&kind=status&code=500&after=2&count=3")
            var statuses: [Int] = []
            for _ in 0..<4 {
                statuses.append(try client.get("/api/invoices", usageflowAuth).status)
                // Requests elsewhere neither trigger nor advance it.
                statuses.append(try client.get("/api/v1/invoices", typesenseAuth).status)
            }
            for _ in 0..<3 {
                statuses.append(try client.get("/api/invoices", usageflowAuth).status)
            }
            #expect(statuses == [200, 200, 200, 200, 500, 200, 500, 200, 500, 200, 200])
            #expect(try client.get("/_sim/faults").json().array.isEmpty)
        }
    }

    @Test func aPrefixWithAQueryMatchesTheWholeTarget() throws {
        try withSimulator { _, client in
            try Self.queue(client, "path=/api/v1/invoices%3Fpage%3D2&kind=status&code=500")
            #expect(try client.get("/api/v1/invoices?page=1", typesenseAuth).status == 200)
            #expect(try client.get("/api/v1/invoices?page=2", typesenseAuth).status == 500)
        }
    }

    @Test func malformedBodiesAreNotJSON() throws {
        try withSimulator { _, client in
            try Self.queue(client, "path=/v1/billing/invoices&kind=malformed")
            let reply = try client.get("/v1/billing/invoices", northflankAuth)
            #expect(reply.status == 200)
            #expect(throws: JSON.ParseError.self) { try reply.json() }
            #expect((try? JSONSerialization.jsonObject(with: Data(reply.body))) == nil)
            #expect(try client.get("/v1/billing/invoices", northflankAuth).json()["data"] != nil)
        }
    }

    @Test func truncatedBodiesStopHalfwayAndCloseTheConnection() throws {
        try withSimulator { _, client in
            let full = try client.get("/api/invoices", usageflowAuth).body.count
            try Self.queue(client, "path=/api/invoices&kind=truncated")
            #expect(throws: ClientError.truncated(expected: full, received: full / 2)) {
                try client.get("/api/invoices", usageflowAuth)
            }
            #expect(try client.get("/api/invoices", usageflowAuth).body.count == full)
            #expect(client.connections == 2)
        }
    }

    @Test func missingFieldsDropWhatEachProviderRequires() throws {
        try withSimulator { _, client in
            for path in ["/v1/billing/invoices", "/v1/billing/usage?startTime=0"] {
                try Self.queue(client, "path=/v1/&kind=missing-field")
                let json = try client.get(path, northflankAuth).json()
                #expect(json["pagination"] == nil && json["data"] != nil)
            }
            try Self.queue(client, "path=/api/v1/invoices&kind=missing-field&count=2")
            let list = try client.get("/api/v1/invoices", typesenseAuth).json()
            #expect(list["invoices"]![0]!["id"] == nil && list["invoices"]![1]!["id"] != nil)
            let id = list["invoices"]![1]!["id"]!.string!
            let detail = try client.get("/api/v1/invoices/\(id)", typesenseAuth).json()
            #expect(detail["id"] == nil && detail["line_items"] != nil)
            try Self.queue(client, "path=/api/invoices&kind=missing-field")
            let usageflow = try client.get("/api/invoices", usageflowAuth).json()
            #expect(usageflow["invoices"]![0]!["amount"] == nil && usageflow["invoices"]![1]!["amount"] != nil)
        }
    }

    @Test func wrongTypesTurnTheFirstAmountIntoAString() throws {
        try withSimulator { _, client in
            try Self.queue(client, "path=/&kind=wrong-type&count=5")
            let northflank = try client.get("/v1/billing/invoices", northflankAuth).json()["data"]!["invoices"]!
            #expect(northflank[0]!["total"] == .string("abc") && northflank[1]!["total"]?.number != nil)
            let usage = try client.get("/v1/billing/usage?startTime=0", northflankAuth).json()["data"]!["usage"]!
            #expect(usage[0]!["paasUsage"]!["price"]!["total"] == .string("abc"))
            let list = try client.get("/api/v1/invoices", typesenseAuth).json()["invoices"]!
            #expect(list[0]!["amount_cents"] == .string("abc") && list[1]!["amount_cents"]?.int != nil)
            let detail = try client.get("/api/v1/invoices/\(list[1]!["id"]!.string!)", typesenseAuth).json()
            #expect(detail["amount_cents"] == .string("abc"))
            let usageflow = try client.get("/api/invoices", usageflowAuth).json()["invoices"]!
            #expect(usageflow[0]!["amount"] == .string("abc") && usageflow[1]!["amount"]?.number != nil)
        }
    }

    @Test func repeatCursorOnAFirstPagePromisesACursorThatComesBack() throws {
        try withSimulator(fixedOptions { $0.historyDays = 400 }) { _, client in
            try Self.queue(client, "path=/v1/billing/invoices&kind=repeat-cursor")
            let first = try client.get("/v1/billing/invoices?per_page=5", northflankAuth).json()
            let cursor = first["pagination"]!["cursor"]!.string!
            #expect(first["pagination"]!["hasNextPage"]?.bool == true)
            let second = try client.get("/v1/billing/invoices?per_page=5&cursor=\(cursor)", northflankAuth).json()
            #expect(second["pagination"]!["cursor"]?.string == cursor)
            #expect(second["data"]!["invoices"]!.array.count == 5)
            // The promise is kept once; then the walk goes on.
            let third = try client.get("/v1/billing/invoices?per_page=5&cursor=\(cursor)", northflankAuth).json()
            #expect(third["pagination"]!["cursor"]?.string != cursor)
        }
    }

    @Test func repeatCursorOnALaterPageEchoesTheRequestCursor() throws {
        try withSimulator { _, client in
            let first = try client.get("/v1/billing/usage?startTime=0&per_page=10", northflankAuth).json()
            let cursor = first["pagination"]!["cursor"]!.string!
            try Self.queue(client, "path=/v1/billing/usage&kind=repeat-cursor")
            let second = try client.get("/v1/billing/usage?startTime=0&per_page=10&cursor=\(cursor)", northflankAuth)
                .json()
            #expect(second["pagination"]!["cursor"]?.string == cursor)
            #expect(second["pagination"]!["hasNextPage"]?.bool == true)
        }
    }

    @Test func retryAfterFaultsAnswer429() throws {
        try withSimulator { _, client in
            try Self.queue(client, "path=/api/v1/&kind=retry-after&value=7")
            let seconds = try client.get("/api/v1/invoices", typesenseAuth)
            #expect(seconds.status == 429 && seconds.headers["retry-after"] == "7")
            #expect(seconds.text == #"{"message":"Rate limit exceeded. Please try again after 1 minute."}"#)

            try Self.queue(client, "path=/api/v1/&kind=retry-after-date&value=30")
            let dated = try client.get("/api/v1/invoices", typesenseAuth)
            #expect(dated.status == 429)
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
            let header = try #require(dated.headers["retry-after"])
            #expect(header.hasSuffix(" GMT"))
            let date = try #require(formatter.date(from: header))
            #expect(abs(date.timeIntervalSinceNow - 30) < 3)

            try Self.queue(client, "path=/v1/&kind=ratelimit-reset&value=9")
            let reset = try client.get("/v1/billing/invoices", northflankAuth)
            #expect(reset.status == 429 && reset.headers["retry-after"] == nil)
            #expect(reset.headers["x-ratelimit-reset"] == "9" && reset.headers["x-ratelimit-remaining"] == "0")
            #expect(reset.headers["x-ratelimit-limit"] == "1000")
        }
    }

    @Test func aSharedWindowLeavesWhatItAllowsAndIsEnforced() throws {
        try withSimulator(fixedOptions { $0.rateLimits = true }) { _, client in
            try Self.queue(client, "path=/v1/&kind=ratelimit-shared&allow=2&value=30")
            var remaining: [String] = []
            var resets: [Int] = []
            for _ in 0..<3 {
                let reply = try client.get("/v1/billing/invoices", northflankAuth)
                #expect(reply.status == 200)
                remaining.append(reply.headers["x-ratelimit-remaining"] ?? "")
                resets.append(Int(reply.headers["x-ratelimit-reset"] ?? "") ?? -1)
            }
            #expect(remaining == ["2", "1", "0"])
            #expect(resets.allSatisfy { (29...30).contains($0) }, "\(resets)")
            let refused = try client.get("/v1/billing/invoices", northflankAuth)
            #expect(refused.status == 429)
            #expect((29...30).contains(Int(refused.headers["retry-after"] ?? "") ?? -1))
            // The log says when each request arrived, in milliseconds after the start.
            let lines = try client.get("/_sim/requests/log?times=1").text.split(separator: "\n")
            #expect(lines.count == 4)
            #expect(lines.last?.hasSuffix(" 429 GET /v1/billing/invoices") == true)
            let arrivals = lines.map { Int($0.split(separator: " ")[0]) ?? -1 }
            #expect(arrivals == arrivals.sorted() && arrivals[0] >= 0)
        }
    }

    @Test func looseTypesWriteAmountsAsStringsAndTimesAsFloats() throws {
        try withSimulator { _, client in
            let plain = try client.get("/v1/billing/usage?startTime=1793404800&endTime=1793408400", northflankAuth).text
            try Self.queue(client, "path=/&kind=loose-types&count=2")
            let loose = try client.get("/v1/billing/usage?startTime=1793404800&endTime=1793408400", northflankAuth).text
            #expect(plain.contains(#""timestamp":1793404800,"#) && loose.contains(#""timestamp":1793404800.0,"#))
            #expect(!plain.contains(#""cpu":""#) && loose.contains(#""cpu":""#))
            // Only the types change: taking the quotes and the ".0" away gives the plain body back.
            let undone = loose.replacingOccurrences(of: "\"", with: "").replacingOccurrences(
                of: ".0,paasUsage", with: ",paasUsage")
            #expect(undone == plain.replacingOccurrences(of: "\"", with: ""))
            let usageflow = try client.get("/api/invoices", usageflowAuth).text
            #expect(usageflow.contains(#""amount":""#))
        }
        try withSimulator(fixedOptions { $0.numericIDs = true }) { _, client in
            #expect(try client.get("/api/invoices", usageflowAuth).text.contains(#"{"id":"1","#))
            try Self.queue(client, "path=/&kind=loose-types")
            #expect(try client.get("/api/invoices", usageflowAuth).text.contains(#"{"id":1,"#))
        }
    }

    @Test func resetClosesTheConnectionWithoutAnAnswer() throws {
        try withSimulator { _, client in
            try Self.queue(client, "path=/api/invoices&kind=reset")
            #expect(throws: ClientError.closedWithoutResponse) { try client.get("/api/invoices", usageflowAuth) }
            #expect(try client.get("/api/invoices", usageflowAuth).status == 200)
            let log = try client.get("/_sim/requests/log").text
            #expect(log == "000 GET /api/invoices\n200 GET /api/invoices\n")
        }
    }

    @Test func stallDelaysTheAnswer() throws {
        try withSimulator { _, client in
            try Self.queue(client, "path=/api/invoices&kind=stall&value=300")
            let started = monotonicSeconds()
            #expect(try client.get("/api/invoices", usageflowAuth).status == 200)
            #expect(monotonicSeconds() - started >= 0.3)
        }
    }

    @Test func oversizePadsValidJSON() throws {
        try withSimulator { _, client in
            try Self.queue(client, "path=/api/invoices&kind=oversize&value=3000000")
            let reply = try client.get("/api/invoices", usageflowAuth)
            #expect(reply.body.count == 3_000_000)
            #expect(try reply.json()["invoices"]!.array.count == 12)
        }
    }

    @Test func faultsCanBeListedAndCleared() throws {
        try withSimulator { _, client in
            try Self.queue(client, "path=/v1/&kind=stall&value=10&count=3")
            try Self.queue(client, "path=/api/&kind=reset")
            let pending = try client.get("/_sim/faults").json().array
            #expect(pending.map { $0["kind"]!.string! } == ["stall", "reset"])
            #expect(pending[0]["count"]?.int == 3 && pending[0]["value"]?.int == 10)
            #expect(try client.delete("/_sim/faults").text == #"{"cleared":2}"#)
            #expect(try client.get("/api/invoices", usageflowAuth).status == 200)
            #expect(try client.post("/_sim/faults?kind=explode").status == 400)
            #expect(try client.post("/_sim/faults?kind=status&code=99").status == 400)
        }
    }

    @Test func faultedRequestsAreCountedLikeAnyOther() throws {
        try withSimulator { _, client in
            try Self.queue(client, "path=/api/v1/&kind=retry-after&count=2")
            for _ in 0..<3 {
                _ = try client.get("/api/v1/invoices", typesenseAuth)
            }
            let counts = try client.get("/_sim/requests").text
            #expect(counts == #"{"total":3,"endpoints":{"GET /api/v1/invoices":3},"statuses":{"200":1,"429":2}}"#)
        }
    }
}

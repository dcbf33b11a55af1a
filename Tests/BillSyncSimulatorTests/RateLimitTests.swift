import BillSyncSimulator
import BillSyncTestSupport
import Glibc
import Testing

@Suite struct RateLimitTests {
    @Test func typesenseAllowsThirtyPerScaledMinute() throws {
        try withSimulator(
            fixedOptions {
                $0.rateLimits = true
                $0.rateScale = 60
            }
        ) { _, client in
            let started = monotonicSeconds()
            var statuses: [Int] = []
            for _ in 0..<31 {
                statuses.append(try client.get("/api/v1/invoices?per_page=1", typesenseAuth).status)
            }
            let limited = try client.get("/api/v1/invoices?per_page=1", typesenseAuth)
            // Only meaningful while all of it happened inside the one-second window.
            if monotonicSeconds() - started < 0.9 {
                #expect(statuses == Array(repeating: 200, count: 30) + [429])
                #expect(limited.status == 429)
                #expect(limited.headers["retry-after"] == "1")
                #expect(limited.text == #"{"message":"Rate limit exceeded. Please try again after 1 minute."}"#)
            }
            // Another key has its own window; the window frees up after a second.
            #expect(try client.get("/api/invoices", usageflowAuth).status == 200)
            while monotonicSeconds() - started < 1.1 {
                usleep(50_000)
            }
            #expect(try client.get("/api/v1/invoices?per_page=1", typesenseAuth).status == 200)
        }
    }

    @Test func northflankAllowsAThousandPerScaledHour() throws {
        try withSimulator(
            fixedOptions {
                $0.rateLimits = true
                $0.rateScale = 120
            }
        ) { _, client in
            // 1000 requests per 30 s.
            var remaining: [String] = []
            for _ in 0..<1_000 {
                let reply = try client.get("/v1/billing/invoices?per_page=1", northflankAuth)
                #expect(reply.status == 200)
                remaining.append(reply.headers["x-ratelimit-remaining"] ?? "")
            }
            #expect(remaining.first == "999" && remaining.last == "0")
            let limited = try client.get("/v1/billing/invoices?per_page=1", northflankAuth)
            #expect(limited.status == 429)
            #expect(limited.text == #"{"error":{"status":429,"message":"Too many requests"}}"#)
            let retryAfter = try #require(Int(limited.headers["retry-after"] ?? ""))
            #expect((1...30).contains(retryAfter))
            #expect(limited.headers["x-ratelimit-remaining"] == "0")
            #expect(Int(limited.headers["x-ratelimit-reset"] ?? "") == retryAfter)
        }
    }

    @Test func limitsAreOffUnlessAskedFor() throws {
        try withSimulator { _, client throws in
            for _ in 0..<40 {
                #expect(try client.get("/api/v1/invoices?per_page=1", typesenseAuth).status == 200)
            }
        }
    }

    @Test func errorRateAnswersSeededServerErrors() throws {
        func statuses(_ options: SimulatorOptions) throws -> [Int] {
            try withSimulator(options) { _, client in
                try (0..<200).map { _ in try client.get("/api/invoices", usageflowAuth).status }
            }
        }
        let options = fixedOptions { $0.errorRate = 0.3 }
        let first = try statuses(options)
        #expect(try statuses(options) == first)
        let failures = first.filter { $0 != 200 }
        #expect(Set(failures) == [500, 502, 503])
        #expect((30...90).contains(failures.count))
        #expect(try statuses(fixedOptions { $0.errorRate = 1 }).allSatisfy { [500, 502, 503].contains($0) })
    }

    @Test func latencyDelaysProviderResponsesOnly() throws {
        try withSimulator(fixedOptions { $0.latencyMs = 150 }) { _, client in
            var started = monotonicSeconds()
            _ = try client.get("/_sim/requests")
            #expect(monotonicSeconds() - started < 0.15)
            started = monotonicSeconds()
            #expect(try client.get("/api/invoices", usageflowAuth).status == 200)
            #expect(monotonicSeconds() - started >= 0.15)
        }
    }
}

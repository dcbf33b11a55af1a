import BillSyncCore
import BillSyncTestSupport
import Foundation
import Testing

@testable import BillSyncHTTP

@Suite struct RateWindowModelTests {
    /// `#expect` for the hot loops: records only what fails.
    func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { Issue.record(Comment(rawValue: message())) }
    }

    /// One random run: `connections` clients share one window (as a source's connections share
    /// its ``Pacing``); each asks to send, waits as told, and is answered after a random delay,
    /// late and out of order, sometimes with a 429's wait or an `x-ratelimit-*` statement. Every
    /// answer of the window is held against the reference; returns the answer times.
    func run(seed: UInt64, steps: Int = 400) -> (answers: [Double], limit: RateLimit, checks: Int) {
        var dice = Dice(state: seed)
        let limit = RateLimit(requests: 1 + dice.below(6), period: [1.0, 10, 60][dice.below(3)])
        let connections = 1 + dice.below(4)
        let statesLimit = dice.chance(0.3)
        var window = RateWindow(limit: limit)
        var reference = ReferenceWindow(requests: limit.requests, period: limit.period)
        // Per connection: the time it next asks, and the request it has in flight.
        var asksAt = Array(repeating: 0.0, count: connections)
        var inFlight: [(ticket: RateWindow.Ticket, grant: Int, answersAt: Double)?] = Array(
            repeating: nil, count: connections)
        var now = 0.0
        var answers: [Double] = []
        var checks = 0
        for _ in 0..<steps {
            // The next thing to happen: an answer, or a connection that asks.
            var next = Double.infinity
            for c in 0..<connections { next = min(next, inFlight[c]?.answersAt ?? asksAt[c]) }
            now = max(now, next)
            var someAnswer = false
            for c in 0..<connections {
                guard let flight = inFlight[c], flight.answersAt <= now else { continue }
                var server: ServerWindow?
                if dice.chance(0.25) {
                    server = ServerWindow(
                        limit: statesLimit ? max(1, limit.requests - 1 - dice.below(2)) : nil,
                        remaining: dice.below(limit.requests + 2),
                        reset: (dice.fraction() * limit.period * 1.2).rounded())
                }
                let wait = dice.chance(0.1) ? Double(dice.below(5)) : nil
                if let wait {
                    window.rateLimited(flight.ticket, at: now, wait: wait, server: server)
                } else {
                    window.answered(flight.ticket, at: now, server: server)
                }
                reference.answer(flight.grant, at: now, server: server, wait: wait)
                answers.append(now)
                someAnswer = true
                inFlight[c] = nil
                asksAt[c] = now + (dice.chance(0.5) ? 0 : dice.fraction() * limit.period / 4)
            }
            // A connection waiting for an answer asks again once one has come.
            for c in 0..<connections where someAnswer && asksAt[c] == .infinity { asksAt[c] = now }
            for c in 0..<connections where inFlight[c] == nil && asksAt[c] <= now {
                checks += 1
                switch window.pace(at: now) {
                case .go:
                    check(
                        reference.allows(now), "seed \(seed): let a request go at \(now) that the server's rule forbids"
                    )
                    let ticket = window.grant()
                    let grant = reference.grant()
                    check(ticket.grant == grant, "seed \(seed): grants out of step")
                    // Answers come late and out of order: at once, or as late as a fifth of a period.
                    let latency = dice.chance(0.2) ? dice.fraction() * limit.period / 5 : dice.fraction() * 0.05
                    inFlight[c] = (ticket, grant, now + latency)
                case .wait(let seconds, _):
                    // While only an answer can make room, the window may still say how long a 429
                    // or the server's count holds every request anyway.
                    let needed = reference.shortestWait(at: now) ?? reference.statedWait(at: now)
                    check(
                        seconds > 0 && seconds <= needed + window.margin + 1e-9,
                        "seed \(seed): waits \(seconds) s at \(now); the rule requires \(needed)")
                    asksAt[c] = now + seconds
                case .waitForAnswer:
                    check(reference.shortestWait(at: now) == nil, "seed \(seed): waits for an answer it does not need")
                    asksAt[c] = .infinity
                }
            }
            check(!(asksAt.allSatisfy { $0 == .infinity } && inFlight.allSatisfy { $0 == nil }), "seed \(seed): stuck")
        }
        return (answers, limit, checks)
    }

    @Test func thousandsOfRandomSequencesKeepTheLimitAndWaitNoLongerThanItRequires() {
        var checks = 0
        for seed in 1...3_000 as ClosedRange<UInt64> {
            let (answers, limit, n) = run(seed: seed)
            checks += n
            // As the server counts: no interval of one period holds more answers than the limit.
            let sorted = answers.sorted()
            var first = 0
            for (last, time) in sorted.enumerated() {
                while sorted[first] + limit.period <= time { first += 1 }
                check(
                    last - first + 1 <= limit.requests,
                    "seed \(seed): \(last - first + 1) answers within \(limit.period) s")
            }
        }
        #expect(checks > 500_000)
        print("rate limits: model: 3000 random sequences, \(checks) decisions held against the reference")
    }

    @Test func aLateAnswerDoesNotMakeALaterRequestWaitAFullPeriod() {
        var window = RateWindow(limit: RateLimit(requests: 3, period: 60))
        let a = window.grant()
        let b = window.grant()
        let c = window.grant()
        window.answered(b, at: 0.1)
        window.answered(c, at: 0.2)
        window.answered(a, at: 30)  // answered late, after the two sent after it
        // Full until the oldest answer (0.1) leaves: 60.1 + margin, not 30 + 60.
        #expect(window.pace(at: 1) == .wait(60.1 + window.margin - 1, .window))
        #expect(window.pace(at: 61.3) == .go)
    }

    @Test func a429WaitsWhatTheServerAskedThenPacingGoesOnFromItsOwnCount() {
        var window = RateWindow(limit: RateLimit(requests: 1000, period: 3600))
        for t in 0..<5 { window.answered(window.grant(), at: Double(t)) }
        let limited = window.grant()
        window.rateLimited(limited, at: 10, wait: 2)
        #expect(window.pace(at: 10.5) == .wait(1.5, .rateLimited))
        #expect(window.pace(at: 12) == .go)
    }

    @Test func theServersRemainingCountIsAdoptedWhenStricter() {
        var window = RateWindow(limit: RateLimit(requests: 1000, period: 3600))
        let first = window.grant()
        window.answered(first, at: 0, server: ServerWindow(limit: 1000, remaining: 2, reset: 30))
        window.answered(window.grant(), at: 0.1)
        window.answered(window.grant(), at: 0.2)
        #expect(window.pace(at: 0.3) == .wait(29.7, .serverRemaining))
        #expect(window.pace(at: 30) == .go)
        // A lower x-ratelimit-limit lowers the window; a higher one never raises it past the configured limit.
        window.answered(window.grant(), at: 31, server: ServerWindow(limit: 4, remaining: 3, reset: 3600))
        #expect(window.requests == 4)
        window.answered(window.grant(), at: 32, server: ServerWindow(limit: 5000, remaining: 4999, reset: 3600))
        #expect(window.requests == 1000)
    }

    @Test func aWindowFullOfRequestsInFlightWaitsForAnAnswer() {
        var window = RateWindow(limit: RateLimit(requests: 2, period: 1))
        _ = window.grant()
        let second = window.grant()
        #expect(window.pace(at: 0) == .waitForAnswer)
        window.answered(second, at: 0.5)
        #expect(window.pace(at: 0.6) == .wait(0.5 + 1 + window.margin - 0.6, .window))
    }

    @Test func withoutALimitOnlyA429Waits() {
        var window = RateWindow(limit: nil)
        for _ in 0..<100 {
            #expect(window.pace(at: 0) == .go)
            window.answered(window.grant(), at: 0)
        }
        window.rateLimited(window.grant(), at: 1, wait: 3)
        #expect(window.pace(at: 2) == .wait(2, .rateLimited))
        #expect(window.pace(at: 4) == .go)
    }

    @Test func rateLimitHeadersAreReadAsSecondsOrAsAUnixTime() {
        let delta = ServerWindow(
            headers: ["x-ratelimit-limit": "1000", "x-ratelimit-remaining": " 3", "x-ratelimit-reset": "600"],
            unixNow: 1_800_000_000)
        #expect(delta == ServerWindow(limit: 1000, remaining: 3, reset: 600))
        let epoch = ServerWindow(
            headers: ["x-ratelimit-remaining": "0", "x-ratelimit-reset": "1800000030"], unixNow: 1_800_000_000)
        #expect(epoch == ServerWindow(limit: nil, remaining: 0, reset: 30))
        #expect(ServerWindow(headers: ["x-ratelimit-remaining": "-1", "x-ratelimit-reset": "5"], unixNow: 0) == nil)
        #expect(ServerWindow(headers: ["x-ratelimit-limit": "1000"], unixNow: 0) == nil)
    }
}

import BillSyncCore
import BillSyncTestSupport
import Foundation
import Testing

@testable import BillSyncHTTP

/// ``Pacing`` shared by connections on real threads, on the real clock.
@Suite struct PacingTests {
    final class Times: @unchecked Sendable {
        let lock = NSLock()
        var all: [Double] = []
        func add(_ t: Double) { lock.withLock { all.append(t) } }
        var last: Double { lock.withLock { all.last ?? .infinity } }
    }

    @Test func connectionsOnSeveralThreadsNeverOverfillTheWindowTogether() throws {
        let limit = RateLimit(requests: 5, period: 0.3)
        let pacing = Pacing(rateLimit: limit)
        let stop = StopFlag()
        let answers = Times()
        let started = monotonicSeconds()
        DispatchQueue.concurrentPerform(iterations: 4) { lane in
            var dice = Dice(state: UInt64(lane + 1))
            for _ in 0..<10 {
                guard let ticket = try? pacing.acquire(stop: stop, willWait: { _, _ in }) else { return }
                usleep(useconds_t(dice.fraction() * 20_000))
                let t = monotonicSeconds()
                answers.add(t)
                if dice.chance(0.1) {
                    pacing.rateLimited(ticket, at: t, wait: 0.05, server: nil)
                } else {
                    pacing.answered(ticket, at: t, server: nil)
                }
            }
        }
        let elapsed = monotonicSeconds() - started
        let times = answers.all.sorted()
        #expect(times.count == 40)
        #expect(pacing.requestsMade == 40)
        var first = 0
        for (last, time) in times.enumerated() {
            while times[first] + limit.period <= time { first += 1 }
            #expect(last - first + 1 <= limit.requests)
        }
        // 40 requests at 5 per 0.3 s (+ margin and answer time) need about 7 periods; not twice that.
        #expect(elapsed < 7 * (0.3 + 0.006 + 0.02) * 1.6, "took \(elapsed) s")
    }

    @Test func aStopEndsAWaitWithinASecond() throws {
        let pacing = Pacing(rateLimit: RateLimit(requests: 1, period: 3600))
        let stop = StopFlag()
        let ticket = try pacing.acquire(stop: stop) { _, _ in }
        pacing.answered(ticket, at: monotonicSeconds(), server: nil)
        let stoppedAt = Times()
        Thread.detachNewThread {
            usleep(300_000)
            stoppedAt.add(monotonicSeconds())
            stop.set()
        }
        var waited: [RateWindow.WaitReason] = []
        #expect(throws: HTTPFailure.self) { try pacing.acquire(stop: stop) { _, reason in waited.append(reason) } }
        #expect(monotonicSeconds() - stoppedAt.last < 1)
        #expect(waited == [.window])
    }
}

import BillSyncCore
import BillSyncHTTP
import Testing

@Suite struct RateWindowTests {
    @Test func aSendAnsweredLateCountsFromItsAnswer() {
        var window = RateWindow(limit: RateLimit(requests: 2, period: 1))
        #expect(window.delay(at: 0) == 0)
        let first = window.record(at: 0)
        window.record(at: 0.1)
        // Planned at 0, answered at 0.5: the server may have counted it as late as 0.5.
        window.settle(first, at: 0.5)
        #expect(abs(window.delay(at: 0.6) - (0.5 + 1 + 0.02 - 0.6)) < 1e-9)
        // An earlier time never moves a send back.
        window.settle(first, at: 0.2)
        #expect(abs(window.delay(at: 0.6) - 0.92) < 1e-9)
    }
}

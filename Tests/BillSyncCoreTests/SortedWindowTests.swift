import BillSyncCore
import BillSyncTestSupport
import Testing

/// `SortedWindow` slid over random series against a stable sort of each window.
@Suite struct SortedWindowTests {
    @Test func aSlidingWindowIsAlwaysTheStableSortOfItsAmounts() throws {
        var random = SystemRandomNumberGenerator()
        // Few distinct values, each written at two scales, so that equal amounts meet often
        // and their order (1.5 before 1.50, or after) shows.
        let series: [ExactDecimal] = (0..<2_000).map { _ in
            let value = Int128(Int.random(in: 0..<40, using: &random))
            return Bool.random(using: &random)
                ? ExactDecimal(significand: value, scale: 1) : ExactDecimal(significand: value * 10, scale: 2)
        }
        var window = SortedWindow()
        var (start, end) = (0, 0)
        var checked = 0
        while end < series.count {
            window.add(series[end])
            end += 1
            // Windows of 1 to 200 amounts, growing and shrinking.
            let size = 1 + (end * 7919) % 200
            while end - start > size {
                window.removeOldest(series[start])
                start += 1
            }
            let expected = series[start..<end].sorted()
            #expect(window.count == expected.count)
            let form = { (amount: ExactDecimal) in "\(amount.significand)e-\(amount.scale)" }
            #expect(
                window.amounts.map(form) == expected.map(form),
                "window \(start)..<\(end): the amounts or the order of equal ones differ")
            checked += 1
        }
        #expect(checked == 2_000)
    }

    @Test func anEmptyWindowTakesAndGivesBack() {
        var window = SortedWindow()
        window.add(ExactDecimal(3))
        window.add(ExactDecimal(1))
        window.add(ExactDecimal(2))
        #expect(window.amounts == [ExactDecimal(1), ExactDecimal(2), ExactDecimal(3)])
        window.removeOldest(ExactDecimal(3))
        window.removeOldest(ExactDecimal(1))
        #expect(window.amounts == [ExactDecimal(2)])
    }
}

import BillSyncCore
import Testing

@Suite struct UTCTests {
    @Test func formatsAndParses() {
        #expect(UTC.dateTime(1_702_857_599) == "2023-12-17 23:59:59")
        #expect(UTC.date(0) == "1970-01-01")
        #expect(UTC.iso8601(951_782_400) == "2000-02-29T00:00:00Z")
        #expect(UTC.parse("2025-03-01T00:00:00.000Z") == 1_740_787_200)
        #expect(UTC.parse("2025-03-01") == 1_740_787_200)
        #expect(UTC.parse("2025-03-01T02:00:00+02:00") == 1_740_787_200)
        #expect(UTC.parse("2025-13-01") == nil)
        #expect(UTC.parse("yesterday") == nil)
        #expect(UTC.month(1_740_787_200) == "2025-03")
    }

    @Test func inclusiveEndsBecomeExclusive() {
        #expect(Normalization.exclusiveEnd(1_702_857_599) == 1_702_857_600)
        #expect(Normalization.exclusiveEnd(1_702_857_600) == 1_702_857_600)
    }
}

import BillSyncCore
import Testing

@Suite struct ExactDecimalIntegerTests {
    @Test func anAmountInUnitsOfItsDecimalsWhenWholeAndWithin64Bits() throws {
        func units(_ text: String, _ decimals: Int = 8) throws -> Int64? {
            try ExactDecimal(parsing: text).integer(decimals: decimals)
        }
        #expect(try units("3.32102287") == 332_102_287)
        #expect(try units("-0.5") == -50_000_000)
        #expect(try units("0") == 0)
        #expect(try units("0.000000000000") == 0)
        #expect(try units("12") == 1_200_000_000)
        #expect(try units("1e3") == 100_000_000_000)
        #expect(try units("0.1234567800") == 12_345_678)  // trailing zeros past eight decimals
        #expect(try units("0.123456789") == nil)  // a ninth decimal
        #expect(try units("92233720368.54775807") == Int64.max)
        #expect(try units("92233720368.54775808") == nil)  // one past
        #expect(try units("-92233720368.54775808") == Int64.min)
        #expect(try units("999999999999999") == nil)
        #expect(try units("1.5", 0) == nil)
        #expect(try units("15", 0) == 15)
        #expect(try units("1", 19) == nil)
        #expect(try units("0", 30) == 0)
        for text in ["3.32102287", "-0.5", "0.1234567800", "92233720368.54775807", "1e-8"] {
            let amount = try ExactDecimal(parsing: text)
            #expect(ExactDecimal(significand: Int128(try #require(amount.integer(decimals: 8))), scale: 8) == amount)
        }
    }
}

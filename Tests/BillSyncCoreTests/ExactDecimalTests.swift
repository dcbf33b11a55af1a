import BillSyncCore
import Testing

@Suite struct ExactDecimalTests {
    @Test func centsBecomeExactMajorUnits() throws {
        #expect(try ExactDecimal(parsing: "1234.5").shifted(by: -2).description == "12.345")
        #expect(try ExactDecimal(parsing: "125000").shifted(by: -2).description == "1250.00")
        #expect(try ExactDecimal(parsing: "0.123456").description == "0.123456")
        #expect(try ExactDecimal(parsing: "-3.5").description == "-3.50")
        #expect(try ExactDecimal(parsing: "7").description == "7.00")
        #expect(try ExactDecimal(parsing: "0").description == "0.00")
    }

    @Test func exponentsAreExact() throws {
        #expect(try ExactDecimal(parsing: "1.25e3").description == "1250.00")
        #expect(try ExactDecimal(parsing: "7E-2").description == "0.07")
        #expect(try ExactDecimal(parsing: "1e-8").description == "0.00000001")
    }

    @Test func sumsThatBinaryFloatingPointGetsWrong() throws {
        let a = try ExactDecimal(parsing: "0.1")
        let b = try ExactDecimal(parsing: "0.2")
        #expect((a + b).description == "0.30")
        #expect(a + b == (try ExactDecimal(parsing: "0.3")))
        var total = ExactDecimal.zero
        for _ in 0..<1000 { total += try ExactDecimal(parsing: "0.001") }
        #expect(total.description == "1.00")
    }

    @Test func rejectsWhatIsNotANumber() {
        for text in [
            "", "-", "abc", "1.2.3", "1e", "12a", "1e999", "1e20", "1000000000000000", "-1e15",
            "0.0000000000001", "99999999999999999999999999999999999999999", "1e-40",
        ] {
            #expect(throws: DecimalParseError.self) { try ExactDecimal(parsing: text) }
        }
    }

    @Test func amountsUpToTheLimitParse() throws {
        #expect(try ExactDecimal(parsing: "999999999999999.999999999999").description == "999999999999999.999999999999")
        #expect(try ExactDecimal(parsing: "1.5e2").description == "150.00")
        #expect(try ExactDecimal(parsing: "0e10").description == "0.00")
        #expect(try ExactDecimal(parsing: "1200e-2").description == "12.00")
    }

    @Test func equalityIgnoresScale() throws {
        #expect(try ExactDecimal(parsing: "1.50") == ExactDecimal(parsing: "1.5"))
        #expect(try ExactDecimal(parsing: "1.50").hashValue == ExactDecimal(parsing: "1.5").hashValue)
        #expect(try ExactDecimal(parsing: "-0.01") < .zero)
    }
}

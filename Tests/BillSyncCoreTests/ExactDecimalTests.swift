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

@Suite struct JSONValueTests {
    @Test func numbersKeepTheirText() throws {
        let json = try JSONValue.parse(#"{"a": 1234.5678, "b": [1e3, -0.0], "s": "x\u00e9\n\"", "t": true, "n": null}"#)
        guard case .object(let m) = json else {
            Issue.record("not an object")
            return
        }
        #expect(m["a"] == .number("1234.5678"))
        #expect(m["b"] == .array([.number("1e3"), .number("-0.0")]))
        #expect(m["s"] == .string("xé\n\""))
        #expect(m["t"] == .bool(true))
        #expect(m["n"] == .null)
    }

    @Test func surrogatePairsDecode() throws {
        #expect(try JSONValue.parse(#""\ud83d\ude00""#) == .string("😀"))
    }

    @Test func malformedTextIsRejectedWithAnOffset() {
        for text in ["{", "{\"a\":}", "[1,]", "{\"a\":1} x", "\"abc", "01", "{\"a\" 1}", "[\"\u{01}\"]", "\"\\ud800\""]
        {
            #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(text) }
        }
    }

    @Test func fieldErrorsNameThePath() throws {
        let root = JSONField(try JSONValue.parse(#"{"data":{"invoices":[{"id":"a"},{"total":1}]}}"#))
        let items = try root.require("data").require("invoices").array()
        #expect(throws: FieldError.self) { try items[1].require("id") }
        do { _ = try items[1].require("id") } catch {
            #expect(error.description == "field $.data.invoices[1].id: required field is missing")
        }
        do { _ = try items[0].require("id").decimal() } catch {
            #expect(
                error.description
                    == "field $.data.invoices[0].id: expected a number or a string holding one, found the string \"a\"")
        }
    }

    @Test func canonicalTextSortsKeys() throws {
        let json = try JSONValue.parse(#"{"b": 1, "a": {"z": "x", "c": [true, null]}}"#)
        #expect(json.canonicalText == #"{"a":{"c":[true,null],"z":"x"},"b":1}"#)
    }
}

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

@Suite struct ExactDecimalTextTests {
    /// The text an amount should have, from its significand's digits alone.
    func reference(_ significand: Int128, _ scale: Int, _ minimumDecimals: Int) -> String {
        var digits = String(significand.magnitude)
        var scale = scale
        if scale < 0 {
            digits += String(repeating: "0", count: -scale)
            scale = 0
        }
        if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
        var whole = Substring(digits.prefix(digits.count - scale))
        while whole.count > 1 && whole.first == "0" { whole.removeFirst() }
        var fraction = String(digits.suffix(scale))
        while fraction.count > minimumDecimals && fraction.last == "0" { fraction.removeLast() }
        while fraction.count < minimumDecimals { fraction += "0" }
        let text = fraction.isEmpty ? whole : whole + "." + fraction
        return (significand < 0 ? "-" : "") + text
    }

    @Test func everyMagnitudeAndScaleWritesItsDigits() {
        var rng = SystemRandomNumberGenerator()
        var checked = 0
        // Each decimal length up to 28 digits (past 64 bits), both signs, every scale kept.
        for length in 1...28 {
            for _ in 0..<200 {
                var significand: Int128 = Int128(Int.random(in: 1...9, using: &rng))
                for _ in 1..<length { significand = significand * 10 + Int128(Int.random(in: 0...9, using: &rng)) }
                if Bool.random(using: &rng) { significand = -significand }
                // Trailing zeros now and then.
                if Int.random(in: 0..<4, using: &rng) == 0 { significand = significand / 1000 * 1000 }
                let scale = Int.random(in: -2...12, using: &rng)
                for minimumDecimals in [0, 2] {
                    let got = ExactDecimal(significand: significand, scale: scale).formatted(
                        minimumDecimals: minimumDecimals)
                    #expect(got == reference(significand, scale, minimumDecimals), "\(significand) scale \(scale)")
                    checked += 1
                }
            }
        }
        for edge: Int128 in [
            0, 1, -1, Int128(UInt64.max), Int128(UInt64.max) + 1, -Int128(UInt64.max), Int128(Int64.max),
            Int128(Int64.min),
        ] {
            for scale in [0, 2, 12] {
                #expect(
                    ExactDecimal(significand: edge, scale: scale).formatted(minimumDecimals: 2)
                        == reference(edge, scale, 2))
                checked += 1
            }
        }
        #expect(checked == 28 * 200 * 2 + 8 * 3)
    }
}

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

@Suite struct ReconcileTests {
    func line(_ amount: String) throws -> LineItem {
        LineItem(lineType: "node", category: .usage, description: "n", amount: try ExactDecimal(parsing: amount))
    }

    @Test func linesThatSumNeedNoAdjustment() throws {
        let r = Normalization.reconcile([try line("1.10"), try line("2.20")], total: try ExactDecimal(parsing: "3.3"))
        #expect(r.difference == nil)
        #expect(r.lines.map(\.lineNo) == [1, 2])
    }

    @Test func aDifferenceBecomesAnAdjustmentLine() throws {
        let r = Normalization.reconcile([try line("10.00"), try line("5.00")], total: try ExactDecimal(parsing: "14"))
        #expect(r.difference?.description == "-1.00")
        #expect(r.lines.count == 3)
        #expect(r.lines[2].lineType == "adjustment")
        #expect(r.lines[2].category == .adjustment)
        #expect(r.lines.reduce(ExactDecimal.zero) { $0 + $1.amount } == (try ExactDecimal(parsing: "14")))
    }

    @Test func anInvoiceWithoutLinesGetsOne() throws {
        let r = Normalization.reconcile([], total: .zero)
        #expect(r.lines.count == 1)
        #expect(r.difference == nil)
    }
}

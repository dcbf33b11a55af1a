import BillSyncCore
import BillSyncTestSupport
import Testing

/// `ExactDecimal(jsonNumber:)`, the usage scanner's number reader, against the general path
/// (`JSONValue.parse` for the grammar, then `ExactDecimal(parsing:)`): where the fast reader
/// answers, the general path gives the same value; where the general path refuses, the fast
/// reader does not answer.
@Suite struct JSONNumberFastPathTests {
    enum General: Equatable {
        case value(ExactDecimal)
        /// Not JSON number text, or a number the decimal parser refuses.
        case refused
    }

    static func general(_ text: String) -> General {
        guard case .number(let number)? = try? JSONValue.parse(Array(text.utf8)), number == text,
            let value = try? ExactDecimal(parsing: number)
        else { return .refused }
        return .value(value)
    }

    static func fast(_ text: String) -> ExactDecimal? {
        Array(text.utf8).withUnsafeBufferPointer { ExactDecimal(jsonNumber: $0) }
    }

    /// Returns whether the fast reader answered.
    @discardableResult
    static func check(_ text: String) -> Bool {
        let expected = general(text)
        guard let value = fast(text) else { return false }
        #expect(expected == .value(value), "\(text): the fast reader gave \(value), the general path \(expected)")
        if case .value(let v) = expected {
            #expect(v.scale == value.scale && v.significand == value.significand, "\(text): same value, other form")
        }
        return true
    }

    @Test func javaScriptStyleNumbersReadExactly() {
        let cases: [(String, String)] = [
            ("2.9e-7", "0.00000029"), ("1e-8", "0.00000001"), ("1E+3", "1000.00"), ("-4.5e1", "-45.00"),
            ("0e0", "0.00"), ("-0", "0.00"), ("0.000001", "0.000001"), ("1.2300e-10", "0.000000000123"),
            ("5e-12", "0.000000000005"), ("123456.789012", "123456.789012"),
            (
                "9.99999999999999e14",
                "999999999999999.00"
            ), ("1e+0", "1.00"), ("7E-2", "0.07"), ("12e-1", "1.20"), ("3.0E2", "300.00"),
            ("0.5e-11", "0.000000000005"), ("1e0000000000000000000001", "10.00"),
        ]
        for (text, written) in cases {
            #expect(Self.check(text), "\(text): the fast reader should answer")
            #expect(Self.fast(text)?.description == written, "\(text)")
        }
    }

    @Test func whatTheGeneralPathRefusesTheFastReaderDoesNotAnswer() {
        let refused = [
            "", "-", "+1", "1.", ".5", "1.e5", "1e", "1e+", "1e-", "e5", "01", "-01", "00", "1ee2", "1e2e3", "1e2.5",
            "--1", "1-", "1e41", "0e41", "1e-41", "1e15", "-1e15", "1e-13", "123456789e-20", "1000000000000000",
            "1.0000000000001", "0.1e-12", "1e999", "25e-13",
        ]
        for text in refused {
            #expect(Self.general(text) == .refused, "\(text): expected the general path to refuse")
            #expect(Self.fast(text) == nil, "\(text): the fast reader answered \(Self.fast(text)!)")
        }
    }

    /// Random texts over the alphabet of JSON numbers, biased towards well-formed ones.
    @Test func randomNumberTextsReadTheSameBothWays() {
        var dice = Dice(state: 20_261_201)
        let alphabet = Array("0123456789-+.eE")
        var answered = 0
        var wellFormed = 0
        let total = 200_000
        for _ in 0..<total {
            var text = ""
            if dice.below(4) == 0 {
                for _ in 0..<(1 + dice.below(14)) { text.append(alphabet[dice.below(alphabet.count)]) }
            } else {
                if dice.below(3) == 0 { text += "-" }
                text += dice.below(5) == 0 ? "0" : String(1 + dice.below(9))
                for _ in 0..<dice.below(12) { text += String(dice.below(10)) }
                if dice.below(2) == 0 {
                    text += "."
                    for _ in 0..<(1 + dice.below(12)) { text += String(dice.below(10)) }
                }
                if dice.below(2) == 0 {
                    text += dice.below(2) == 0 ? "e" : "E"
                    switch dice.below(3) {
                    case 0: text += "-"
                    case 1: text += "+"
                    default: break
                    }
                    for _ in 0..<(1 + dice.below(2)) { text += String(dice.below(10)) }
                }
            }
            if case .value = Self.general(text) { wellFormed += 1 }
            if Self.check(text) { answered += 1 }
        }
        // Every number the general path reads with at most 18 significant digits is read by the fast reader too.
        #expect(answered > wellFormed * 9 / 10, "answered \(answered) of \(wellFormed) readable numbers")
        print("json numbers: \(total) texts, \(wellFormed) readable, \(answered) read by the fast reader, all equal")
    }
}

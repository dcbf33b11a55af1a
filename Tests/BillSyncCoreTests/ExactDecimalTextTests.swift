import BillSyncCore
import Testing

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
                for minimumDecimals in [0, 1, 2] {
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
        #expect(checked == 28 * 200 * 3 + 8 * 3)
    }
}

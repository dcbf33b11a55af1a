/// Products and ratios for budgets and forecasts: exact where the scale allows, else rounded
/// half away from zero at the scale asked for.
extension ExactDecimal {
    /// `self × other`, exact up to ``maxScale`` decimals (rounded half away from zero beyond).
    public func multiplied(by other: ExactDecimal) -> ExactDecimal {
        let product = ExactDecimal(significand: significand * other.significand, scale: scale + other.scale)
        return product.scale > Self.maxScale ? product.rounded(decimals: Self.maxScale) : product
    }

    /// `self × numerator / denominator`, rounded half away from zero to `decimals` decimals.
    public func scaled(by numerator: Int64, over denominator: Int64, decimals: Int) -> ExactDecimal {
        precondition(denominator != 0)
        var value = significand * Int128(numerator)
        var shift = decimals - scale
        while shift > 0 {
            value *= 10
            shift -= 1
        }
        var divisor = Int128(denominator)
        while shift < 0 {
            divisor *= 10
            shift += 1
        }
        return ExactDecimal(significand: Self.divideRounding(value, divisor), scale: decimals)
    }

    /// `100 × self / whole`, rounded half away from zero to one decimal.
    public func percent(of whole: ExactDecimal) -> ExactDecimal {
        let common = max(scale, whole.scale)
        let part = significand * Self.power(common - scale)
        let all = whole.significand * Self.power(common - whole.scale)
        return ExactDecimal(significand: Self.divideRounding(part * 1_000, all), scale: 1)
    }

    static func power(_ n: Int) -> Int128 {
        var p: Int128 = 1
        for _ in 0..<n { p *= 10 }
        return p
    }

    /// Rounded half away from zero to `decimals` decimals (unchanged when it has no more).
    public func rounded(decimals: Int) -> ExactDecimal {
        guard scale > decimals else { return self }
        var divisor: Int128 = 1
        for _ in 0..<(scale - decimals) { divisor *= 10 }
        return ExactDecimal(significand: Self.divideRounding(significand, divisor), scale: decimals)
    }

    static func divideRounding(_ a: Int128, _ b: Int128) -> Int128 {
        let (q, r) = a.quotientAndRemainder(dividingBy: b)
        guard r != 0, 2 * r.magnitude >= b.magnitude else { return q }
        return (a < 0) != (b < 0) ? q - 1 : q + 1
    }
}

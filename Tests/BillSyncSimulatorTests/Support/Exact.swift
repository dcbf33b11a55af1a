/// Exact decimal arithmetic for checking amounts: `units × 10^-12`.
struct Exact: Equatable, Comparable, CustomStringConvertible {
    static let scale = 12
    let units: Int128

    init(units: Int128) {
        self.units = units
    }

    /// Plain decimal text (`-12.345`, `0`, `1250.00`); nil for anything else, exponents included.
    init?(_ text: String) {
        var body = Substring(text)
        let negative = body.hasPrefix("-")
        if negative { body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].allSatisfy(\.isASCII),
            parts.allSatisfy({ $0.allSatisfy { $0.isNumber && $0.isASCII } }),
            parts.count == 1 || (!parts[1].isEmpty && parts[1].count <= Self.scale),
            let whole = Int128(parts[0])
        else { return nil }
        var fraction: Int128 = 0
        if parts.count == 2 {
            let padded = parts[1] + String(repeating: "0", count: Self.scale - parts[1].count)
            guard let value = Int128(padded) else { return nil }
            fraction = value
        }
        var units = whole
        for _ in 0..<Self.scale { units *= 10 }
        units += fraction
        self.units = negative ? -units : units
    }

    static func + (lhs: Exact, rhs: Exact) -> Exact { Exact(units: lhs.units + rhs.units) }
    static func - (lhs: Exact, rhs: Exact) -> Exact { Exact(units: lhs.units - rhs.units) }
    static func < (lhs: Exact, rhs: Exact) -> Bool { lhs.units < rhs.units }
    static let zero = Exact(units: 0)

    /// Cents to major units; exact as long as the cents have at most `scale - 2` decimals.
    var dividedByHundred: Exact {
        precondition(units % 100 == 0, "too many decimals to divide exactly")
        return Exact(units: units / 100)
    }

    func times(_ factor: Int128) -> Exact { Exact(units: units * factor) }

    /// The contract's money text: at least two decimals, no trailing zeros beyond them.
    var moneyText: String {
        let negative = units < 0
        let magnitude = negative ? -units : units
        var one: Int128 = 1
        for _ in 0..<Self.scale { one *= 10 }
        var fraction = String(magnitude % one)
        fraction = String(repeating: "0", count: Self.scale - fraction.count) + fraction
        while fraction.count > 2, fraction.hasSuffix("0") { fraction.removeLast() }
        return (negative ? "-" : "") + String(magnitude / one) + "." + fraction
    }

    var description: String { moneyText }
}

extension JSON {
    /// A JSON number or decimal string as an exact value.
    var exact: Exact? {
        if let number { return Exact(number) }
        if let string { return Exact(string) }
        return nil
    }
}

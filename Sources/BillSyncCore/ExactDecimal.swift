/// An exact base-10 number: `significand × 10^-scale`.
///
/// Money and quantities go from the provider's JSON text to the exports through this type
/// alone, so no binary floating point ever touches an amount.
///
///     let cents = try ExactDecimal(parsing: "1234.5")     // 1234.5
///     cents.shifted(by: -2).description                    // "12.345"
public struct ExactDecimal: Sendable, Hashable, Comparable, CustomStringConvertible {
    public private(set) var significand: Int128
    public private(set) var scale: Int

    public static let zero = ExactDecimal(significand: 0, scale: 0)
    /// Most decimals kept; JSON numbers with more significant fractional digits are refused, not rounded.
    public static let maxScale = 12
    /// Amounts are refused from this magnitude on (a quadrillion), so that no sum of them
    /// can overflow the 128-bit significand.
    public static let limit = ExactDecimal(significand: 1_000_000_000_000_000, scale: 0)

    public init(significand: Int128, scale: Int) {
        self.significand = significand
        self.scale = scale
    }

    public init(_ integer: Int) {
        self.init(significand: Int128(integer), scale: 0)
    }

    /// Parses JSON number text (`-12`, `0.5`, `1.25e3`, `7E-2`) exactly.
    public init(parsing text: some StringProtocol) throws(DecimalParseError) {
        var sig: Int128 = 0
        var scale = 0
        var negative = false
        var sawDigit = false
        var inFraction = false
        var exponent = 0
        var digits = 0
        var iterator = text.utf8.makeIterator()
        var byte = iterator.next()
        if byte == UInt8(ascii: "-") {
            negative = true
            byte = iterator.next()
        } else if byte == UInt8(ascii: "+") {
            byte = iterator.next()
        }
        while let b = byte {
            if b >= 48 && b <= 57 {
                sawDigit = true
                if sig != 0 || b != 48 { digits += 1 }
                // 36 significant digits always fit in 128 bits; more is never a billing amount.
                guard digits <= 36 else { throw DecimalParseError(text: String(text), reason: "too many digits") }
                sig = sig * 10 + Int128(b - 48)
                if inFraction { scale += 1 }
            } else if b == UInt8(ascii: "."), !inFraction {
                inFraction = true
            } else if b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
                var expText = ""
                while let e = iterator.next() { expText.unicodeScalars.append(Unicode.Scalar(e)) }
                guard sawDigit, let e = Int(expText), abs(e) <= 40 else {
                    throw DecimalParseError(text: String(text), reason: "bad exponent")
                }
                exponent = e
                break
            } else {
                throw DecimalParseError(text: String(text), reason: "not a number")
            }
            byte = iterator.next()
        }
        guard sawDigit else { throw DecimalParseError(text: String(text), reason: "no digits") }
        var value = ExactDecimal(significand: negative ? -sig : sig, scale: scale - exponent)
        value.normalizeScale()
        guard value.scale <= ExactDecimal.maxScale else {
            throw DecimalParseError(text: String(text), reason: "more than \(ExactDecimal.maxScale) decimals")
        }
        guard value.scale >= 0 || value.significand == 0 else {
            throw DecimalParseError(text: String(text), reason: "out of range")
        }
        if value.scale < 0 { value.scale = 0 }
        guard value.magnitudeIsBelowLimit else { throw DecimalParseError(text: String(text), reason: "out of range") }
        self = value
    }

    /// True when |self| < ``limit`` (compared without scaling up, so it cannot overflow).
    var magnitudeIsBelowLimit: Bool {
        var integerPart = significand.magnitude
        for _ in 0..<max(0, scale) { integerPart /= 10 }
        return integerPart < 1_000_000_000_000_000
    }

    /// Multiplies by `10^places` exactly (negative places divide): cents → units is `shifted(by: -2)`.
    public func shifted(by places: Int) -> ExactDecimal {
        if places <= 0 { return ExactDecimal(significand: significand, scale: scale - places) }
        var result = self
        var remaining = places
        while remaining > 0 && result.scale > 0 {
            result.scale -= 1
            remaining -= 1
        }
        while remaining > 0 {
            result.significand *= 10
            remaining -= 1
        }
        return result
    }

    /// Drops trailing zero decimals; a negative scale (from an exponent) is kept as long
    /// as the parser needs it to range-check without overflow.
    mutating func normalizeScale() {
        if significand == 0 {
            scale = 0
            return
        }
        if scale > 0, let small = Int64(exactly: significand) {
            var s = small  // 64-bit division where it fits: a multiplication, not a library call
            while scale > 0 && s % 10 == 0 {
                s /= 10
                scale -= 1
            }
            significand = Int128(s)
            return
        }
        while scale > 0 && significand % 10 == 0 {
            significand /= 10
            scale -= 1
        }
        while scale < 0 && significand.magnitude < (Int128.max / 10).magnitude {
            significand *= 10
            scale += 1
        }
    }

    private static func aligned(_ a: ExactDecimal, _ b: ExactDecimal) -> (Int128, Int128, Int) {
        let scale = max(a.scale, b.scale)
        var x = a.significand
        var y = b.significand
        for _ in a.scale..<scale { x *= 10 }
        for _ in b.scale..<scale { y *= 10 }
        return (x, y, scale)
    }

    public static func + (a: ExactDecimal, b: ExactDecimal) -> ExactDecimal {
        let (x, y, s) = aligned(a, b)
        return ExactDecimal(significand: x + y, scale: s)
    }

    public static func - (a: ExactDecimal, b: ExactDecimal) -> ExactDecimal {
        let (x, y, s) = aligned(a, b)
        return ExactDecimal(significand: x - y, scale: s)
    }

    public static func += (a: inout ExactDecimal, b: ExactDecimal) { a = a + b }
    public static func -= (a: inout ExactDecimal, b: ExactDecimal) { a = a - b }

    public static prefix func - (a: ExactDecimal) -> ExactDecimal {
        ExactDecimal(significand: -a.significand, scale: a.scale)
    }

    public static func == (a: ExactDecimal, b: ExactDecimal) -> Bool {
        let (x, y, _) = aligned(a, b)
        return x == y
    }

    public func hash(into hasher: inout Hasher) {
        var n = self
        n.normalizeScale()
        hasher.combine(n.significand)
        hasher.combine(n.scale)
    }

    public static func < (a: ExactDecimal, b: ExactDecimal) -> Bool {
        let (x, y, _) = aligned(a, b)
        return x < y
    }

    public var isZero: Bool { significand == 0 }

    /// The amount in units of `10^-decimals` (`3.32102287` at 8 decimals is `332102287`), when
    /// that is a whole number that fits 64 bits; nil when it has more decimals than that
    /// (other than trailing zeros) or is too large. `ExactDecimal(significand: n, scale:
    /// decimals)` gives the amount back.
    public func integer(decimals: Int) -> Int64? {
        var sig = significand
        var s = scale
        while s > decimals {
            let (q, r) = sig.quotientAndRemainder(dividingBy: 10)
            guard r == 0 else { return nil }
            sig = q
            s -= 1
        }
        guard let small = Int64(exactly: sig) else { return nil }
        guard s < decimals else { return small }
        guard decimals - s <= 18 else { return small == 0 ? 0 : nil }
        let (product, overflow) = small.multipliedReportingOverflow(by: Self.powersOfTen[decimals - s])
        return overflow ? nil : product
    }

    private static let powersOfTen: [Int64] = (0...18).map { n in (0..<n).reduce(Int64(1)) { p, _ in p * 10 } }

    /// The plain text with as many decimals as needed but at least `minimumDecimals`.
    public func formatted(minimumDecimals: Int) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { buffer in
            let count = write(minimumDecimals: minimumDecimals, into: buffer.baseAddress!)
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<count]), as: UTF8.self)
        }
    }

    /// Writes ``formatted(minimumDecimals:)``'s text into `out` (room for 48 bytes) without
    /// making a String; returns its length. Runs for every amount stored as text and exported.
    public func write(minimumDecimals: Int, into out: UnsafeMutablePointer<UInt8>) -> Int {
        var n = self
        n.normalizeScale()
        let decimals = max(n.scale, minimumDecimals)
        var magnitude = n.significand.magnitude
        for _ in n.scale..<decimals { magnitude *= 10 }
        let negative = n.significand < 0
        guard decimals <= 18, let small = UInt64(exactly: magnitude) else {
            return Self.writeDigits(magnitude, decimals: decimals, negative: negative, into: out)
        }
        // Nearly every amount: its length first, then the digits from the end, two at a time,
        // in 64-bit arithmetic (where dividing by a constant is a multiplication).
        let unit = UInt64(Self.powersOfTen[decimals])
        let whole = small / unit
        var wholeDigits = 1
        var rest = whole
        while rest >= 10 {
            rest /= 10
            wholeDigits += 1
        }
        let length = (negative ? 1 : 0) + wholeDigits + (decimals > 0 ? 1 + decimals : 0)
        var end = length
        if decimals > 0 {
            end = Self.writeDigits(small % unit, count: decimals, endingAt: end, into: out) - 1
            out[end] = UInt8(ascii: ".")
        }
        _ = Self.writeDigits(whole, count: wholeDigits, endingAt: end, into: out)
        if negative { out[0] = UInt8(ascii: "-") }
        return length
    }

    /// Writes the last `count` digits of `value` so that they end before `out[end]`, two at a
    /// time; returns where they start.
    private static func writeDigits(
        _ value: UInt64, count: Int, endingAt end: Int, into out: UnsafeMutablePointer<UInt8>
    ) -> Int {
        var value = value
        var i = end
        var left = count
        while left >= 2 {
            let pair = Int(value % 100)
            value /= 100
            i -= 2
            out[i] = tens[pair]
            out[i + 1] = ones[pair]
            left -= 2
        }
        if left == 1 {
            i -= 1
            out[i] = 48 + UInt8(value % 10)
        }
        return i
    }

    /// The digits of 0 through 99: tens, ones.
    private static let tens: [UInt8] = (0..<100).map { UInt8(48 + $0 / 10) }
    private static let ones: [UInt8] = (0..<100).map { UInt8(48 + $0 % 10) }

    /// ``write(minimumDecimals:into:)`` for a magnitude past 64 bits or more than 18 decimals:
    /// digit by digit, backwards, then moved to the front.
    private static func writeDigits(
        _ magnitude: UInt128, decimals: Int, negative: Bool, into out: UnsafeMutablePointer<UInt8>
    ) -> Int {
        var magnitude = magnitude
        var i = 48
        var written = 0
        repeat {
            if written == decimals && decimals > 0 {
                i -= 1
                out[i] = UInt8(ascii: ".")
            }
            let (q, r) = magnitude.quotientAndRemainder(dividingBy: 10)
            i -= 1
            out[i] = 48 + UInt8(r)
            written += 1
            magnitude = q
        } while magnitude > 0 || written <= decimals
        if negative {
            i -= 1
            out[i] = UInt8(ascii: "-")
        }
        let count = 48 - i
        // Front and back overlap for long numbers: byte by byte, forwards, is safe.
        for k in 0..<count { out[k] = out[i + k] }
        return count
    }

    /// Money as the exports write it: `1250.00`, `0.123456`, `-3.50`.
    public var description: String { formatted(minimumDecimals: 2) }
}

public struct DecimalParseError: Error, Sendable, CustomStringConvertible {
    public let text: String
    public let reason: String
    public var description: String { "invalid decimal number \"\(text.prefix(40))\": \(reason)" }
}

extension ExactDecimal {
    /// Parses a JSON number (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`) straight from
    /// its bytes: `12`, `-0.5`, `2.9e-7`, `1E+3`. Returns nil for anything else, including
    /// every text that ``init(parsing:)`` refuses, and for the few it accepts that need more
    /// than 64 bits on the way (over 18 significant digits, an exponent beyond ±99); where it
    /// returns a value, it is the value that ``init(parsing:)`` gives.
    public init?(jsonNumber bytes: UnsafeBufferPointer<UInt8>) {
        var i = 0
        let n = bytes.count
        var negative = false
        if i < n, bytes[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        @inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
        guard i < n, isDigit(bytes[i]) else { return nil }
        var sig: UInt64 = 0
        var digits = 0  // significant digits so far
        var scale = 0
        // The integer part: "0" alone, or no leading zero ("012" is not JSON).
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while i < n, isDigit(bytes[i]) {
                digits += 1
                // Past 18 significant digits a UInt64 might overflow: leave those to the general parser.
                guard digits <= 18 else { return nil }
                sig = sig &* 10 &+ UInt64(bytes[i] - 48)
                i += 1
            }
        }
        if i < n, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard i < n, isDigit(bytes[i]) else { return nil }
            while i < n, isDigit(bytes[i]) {
                let d = bytes[i] - 48
                if sig != 0 || d != 0 { digits += 1 }
                guard digits <= 18 else { return nil }
                sig = sig &* 10 &+ UInt64(d)
                scale += 1
                i += 1
            }
        }
        if i < n, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            var exponentNegative = false
            if i < n, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
                exponentNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            guard i < n, isDigit(bytes[i]) else { return nil }
            var exponent = 0
            while i < n, isDigit(bytes[i]) {
                exponent = exponent * 10 + Int(bytes[i] - 48)
                // The general parser refuses beyond ±40; past 99 its answer is left to it.
                guard exponent <= 99 else { return nil }
                i += 1
            }
            guard exponent <= 40 else { return nil }
            scale += exponentNegative ? exponent : -exponent
        }
        guard i == n else { return nil }
        if sig == 0 {
            self = .zero
            return
        }
        while scale > 0 && sig % 10 == 0 {
            sig /= 10
            scale -= 1
        }
        guard scale <= ExactDecimal.maxScale else { return nil }
        var significand = Int128(sig)
        if scale < 0 {
            // 10^18 × 10^15 still fits in 128 bits; anything larger is out of range anyway.
            guard scale >= -15 else { return nil }
            for _ in 0 ..< -scale { significand *= 10 }
            scale = 0
        }
        let value = ExactDecimal(significand: negative ? -significand : significand, scale: scale)
        guard value.magnitudeIsBelowLimit else { return nil }
        self = value
    }
}

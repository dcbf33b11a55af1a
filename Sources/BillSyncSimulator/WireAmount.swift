/// An amount as the simulator writes it on the wire: `units × 10^-scale`, exactly. (Not
/// billsync's `ExactDecimal`: the simulator shares no code with billsync on purpose, so that a
/// bug on one side cannot hide the same bug on the other.)
///
/// Every generated amount is an integer count of small units and is only ever rendered
/// from here, so no amount passes through binary floating point on its way to the wire.
///
///     WireAmount(1234567891, scale: 4).text()                        // "123456.7891"
///     WireAmount(125000, scale: 0).majorUnits.text(minFractionDigits: 2) // "1250.00"
struct WireAmount: Sendable, Equatable {
    var units: Int64
    var scale: Int

    init(_ units: Int64, scale: Int) {
        self.units = units
        self.scale = scale
    }

    /// The same amount a hundred times smaller: cents become major units, digit for digit.
    var majorUnits: WireAmount {
        WireAmount(units, scale: scale + 2)
    }

    /// Plain digits with a `.` mark, trailing fractional zeros dropped down to
    /// `minFractionDigits` (`0` gives JSON-number text such as `12.5` or `0`).
    func text(minFractionDigits: Int = 0) -> String {
        var bytes: [UInt8] = []
        append(to: &bytes, minFractionDigits: minFractionDigits)
        return String(decoding: bytes, as: UTF8.self)
    }

    func append(to out: inout [UInt8], minFractionDigits: Int = 0) {
        let zero = UInt8(ascii: "0")
        let width = 24 + scale + max(0, minFractionDigits)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 2 * width) { buffer in
            // buffer[0..<width]: digits least significant first, padded to one integer digit.
            var magnitude = units.magnitude
            var count = 0
            repeat {
                buffer[count] = zero + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            while count <= scale {
                buffer[count] = zero
                count += 1
            }
            var dropped = 0
            while dropped < scale - minFractionDigits, buffer[dropped] == zero {
                dropped += 1
            }
            // buffer[width...]: the text, most significant first.
            var end = width
            func emit(_ byte: UInt8) {
                buffer[end] = byte
                end += 1
            }
            if units < 0 {
                emit(UInt8(ascii: "-"))
            }
            for index in stride(from: count - 1, through: scale, by: -1) {
                emit(buffer[index])
            }
            let padding = max(0, minFractionDigits - scale)
            if scale - dropped + padding > 0 {
                emit(UInt8(ascii: "."))
                for index in stride(from: scale - 1, through: dropped, by: -1) {
                    emit(buffer[index])
                }
                for _ in 0..<padding {
                    emit(zero)
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[width..<end]))
        }
    }

    /// The text of JavaScript's `Number.prototype.toString` for this amount (ECMA-262
    /// Number::toString, radix 10): `388.988747`, `0.000001`, `2.9e-7`, `1.5e+21`. Exact,
    /// since every amount here has far fewer than the 17 digits a double keeps.
    func javaScriptText() -> String {
        var magnitude = units.magnitude
        var fractionDigits = scale
        guard magnitude != 0 else { return "0" }
        while fractionDigits > 0 && magnitude % 10 == 0 {
            magnitude /= 10
            fractionDigits -= 1
        }
        let digits = String(magnitude)
        let k = digits.count
        let n = k - fractionDigits  // value = 0.digits × 10^n
        let sign = units < 0 ? "-" : ""
        if k <= n && n <= 21 { return sign + digits + String(repeating: "0", count: n - k) }
        if 0 < n && n <= 21 {
            return sign + digits.prefix(n) + "." + digits.dropFirst(n)
        }
        if -6 < n && n <= 0 { return sign + "0." + String(repeating: "0", count: -n) + digits }
        let exponent = n - 1
        let mantissa = k == 1 ? digits : digits.prefix(1) + "." + digits.dropFirst()
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + String(abs(exponent))
    }
}

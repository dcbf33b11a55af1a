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

    /// Appends the text of JavaScript's `Number.prototype.toString` for this amount (ECMA-262
    /// Number::toString, radix 10: `388.988747`, `0.000001`, `2.9e-7`, `1.5e+21`), without
    /// building a string. Exact, since every amount here has far fewer than the 17 digits a
    /// double keeps.
    func appendJavaScript(to out: inout [UInt8]) {
        let zero = UInt8(ascii: "0")
        var magnitude = units.magnitude
        var fractionDigits = scale
        guard magnitude != 0 else { return out.append(zero) }
        while fractionDigits > 0 && magnitude % 10 == 0 {
            magnitude /= 10
            fractionDigits -= 1
        }
        // digits[0..<k]: least significant first; text[0..<end]: what is written, at most
        // 1 + 21 + 1 + 20 + 5 bytes.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 96) { buffer in
            let digits = buffer.baseAddress!
            let text = digits + 24
            var k = 0
            while magnitude > 0 {
                digits[k] = zero + UInt8(magnitude % 10)
                magnitude /= 10
                k += 1
            }
            var end = 0
            func emit(_ byte: UInt8) {
                text[end] = byte
                end += 1
            }
            func emitDigits(_ range: Range<Int>) {
                for i in range { emit(digits[k - 1 - i]) }  // most significant first
            }
            let n = k - fractionDigits  // value = 0.digits × 10^n
            if units < 0 { emit(UInt8(ascii: "-")) }
            if k <= n && n <= 21 {
                emitDigits(0..<k)
                for _ in 0..<(n - k) { emit(zero) }
            } else if 0 < n && n <= 21 {
                emitDigits(0..<n)
                emit(UInt8(ascii: "."))
                emitDigits(n..<k)
            } else if -6 < n && n <= 0 {
                emit(zero)
                emit(UInt8(ascii: "."))
                for _ in 0..<(-n) { emit(zero) }
                emitDigits(0..<k)
            } else {
                emitDigits(0..<1)
                if k > 1 {
                    emit(UInt8(ascii: "."))
                    emitDigits(1..<k)
                }
                emit(UInt8(ascii: "e"))
                let exponent = n - 1
                emit(UInt8(ascii: exponent < 0 ? "-" : "+"))
                var e = abs(exponent)
                let first = end
                repeat {
                    emit(zero + UInt8(e % 10))
                    e /= 10
                } while e > 0
                var (a, b) = (first, end - 1)
                while a < b {
                    (text[a], text[b]) = (text[b], text[a])
                    a += 1
                    b -= 1
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(start: text, count: end))
        }
    }
}

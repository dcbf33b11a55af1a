import BillSyncCore

/// The stored form of a usage amount that is not a whole number of 10^-8 within 64 bits (see
/// ``BillingStore/usageAmountDecimals``): a BLOB of one byte of scale, then the significand in
/// big-endian two's complement in as few bytes as hold it, trailing zero decimals dropped first
/// so that an amount has one form. `0.0000000029` is `0A 1D`: 2 bytes, where its text took 12.
enum UsageAmountBlob {
    /// Room a form takes at most: the scale and 16 bytes of significand.
    static let capacity = 17

    /// Writes `amount`'s form at `out` (``capacity`` bytes); returns its length.
    static func write(_ amount: ExactDecimal, into out: UnsafeMutablePointer<UInt8>) -> Int {
        if let small = Int64(exactly: amount.significand) {
            return write(small, scale: amount.scale, into: out)
        }
        var significand = amount.significand
        var scale = amount.scale
        if significand == 0 { scale = 0 }
        while scale > 0 && significand % 10 == 0 {
            significand /= 10
            scale -= 1
        }
        // Leading bytes that only repeat the sign of the next one are left out.
        var length = 16
        while length > 1 {
            let top = Int8(truncatingIfNeeded: significand >> ((length - 1) * 8))
            let next = Int8(truncatingIfNeeded: significand >> ((length - 2) * 8))
            guard (top == 0 && next >= 0) || (top == -1 && next < 0) else { break }
            length -= 1
        }
        out[0] = UInt8(bitPattern: Int8(truncatingIfNeeded: scale))
        for i in 0..<length {
            out[1 + i] = UInt8(truncatingIfNeeded: significand >> ((length - 1 - i) * 8))
        }
        return 1 + length
    }

    /// ``write(_:into:)`` for a significand within 64 bits (nearly every amount), in 64-bit
    /// arithmetic, where dividing by 10 is a multiplication and no byte is shifted out of 128 bits.
    private static func write(_ significand: Int64, scale: Int, into out: UnsafeMutablePointer<UInt8>) -> Int {
        var significand = significand
        var scale = significand == 0 ? 0 : scale
        while scale > 0 && significand % 10 == 0 {
            significand /= 10
            scale -= 1
        }
        // The bits that hold the value, and one for its sign.
        let bits = 65 - (significand < 0 ? ~significand : significand).leadingZeroBitCount
        let length = (bits + 7) / 8
        out[0] = UInt8(bitPattern: Int8(truncatingIfNeeded: scale))
        var rest = UInt64(bitPattern: significand)
        for i in stride(from: length, through: 1, by: -1) {
            out[i] = UInt8(truncatingIfNeeded: rest)
            rest >>= 8
        }
        return 1 + length
    }

    /// The amount a form holds; nil for bytes that are not one.
    static func read(_ bytes: UnsafeRawBufferPointer) -> ExactDecimal? {
        guard bytes.count >= 2 && bytes.count <= capacity else { return nil }
        var significand = Int128(Int8(bitPattern: bytes[1]))  // its sign, extended
        for i in 2..<bytes.count { significand = significand << 8 | Int128(bytes[i]) }
        return ExactDecimal(significand: significand, scale: Int(Int8(bitPattern: bytes[0])))
    }
}

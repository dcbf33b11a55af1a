/// A SplitMix64 stream keyed by the seed and a record's coordinates, so that any record
/// (one invoice, one usage hour) is generated on its own, in any order, in constant time
/// and memory, and always the same way.
///
///     var rng = SeededRandom(seed: 7, .northflankUsage, account, hour)
///     let cpu = rng.below(500)
struct SeededRandom: Sendable {
    /// Separates the kinds of records, so that invoice 3 and usage hour 3 are unrelated.
    enum Stream: UInt64, Sendable {
        case northflankAccount = 1
        case northflankInvoice
        case northflankUsage
        case typesenseCluster
        case typesenseInvoice
        case typesenseInvoiceID
        case usageflowInvoice
        case providerErrors
    }

    private var state: UInt64

    init(seed: UInt64, _ stream: Stream, _ first: Int64 = 0, _ second: Int64 = 0) {
        var hash = Self.mix(seed)
        hash = Self.mix(hash ^ stream.rawValue)
        hash = Self.mix(hash ^ UInt64(bitPattern: first))
        state = Self.mix(hash ^ UInt64(bitPattern: second))
    }

    /// The SplitMix64 finaliser: a bijective 64-bit hash.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// Uniform in `0..<bound`; `bound` must be positive.
    mutating func below(_ bound: UInt64) -> UInt64 {
        next().multipliedFullWidth(by: bound).high
    }

    /// Uniform in `range`.
    mutating func int(in range: ClosedRange<Int64>) -> Int64 {
        range.lowerBound + Int64(below(UInt64(range.upperBound - range.lowerBound) + 1))
    }

    /// True once in `n` draws on average.
    mutating func oneIn(_ n: UInt64) -> Bool {
        below(n) == 0
    }

    mutating func element<T>(of choices: [T]) -> T {
        choices[Int(below(UInt64(choices.count)))]
    }

    /// Uniform in `[0, 1)`: only for the error-rate dice, never for generated data.
    mutating func fraction() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}

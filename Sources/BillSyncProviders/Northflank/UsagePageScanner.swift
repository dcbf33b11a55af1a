import BillSyncCore
import Glibc

/// Reads a Northflank usage page straight from the response bytes, without building a
/// ``JSONValue`` tree: usage is nearly all of a backfill's bytes.
///
/// It accepts only what it can read unambiguously — the documented shape, plain numbers,
/// strings without escapes, no repeated member, nothing past the limits of the general
/// parser — and gives up (nil) on anything else. The caller then decodes the same bytes the
/// general way, which yields the same page or names the problem. Where it returns a page,
/// that page equals the general decoder's (the decoder fuzz test checks both ways).
struct UsagePageScanner {
    struct GiveUp: Error {}

    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0
    /// Stays below ``JSONParser``'s limit, so nothing it refuses is read here.
    static let maxDepth = 48

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// The page, or nil to decode the general way. `centsShift` and `currency` as the provider's.
    static func scan(_ body: [UInt8], start: Int64, end: Int64, centsShift: Int, currency: String) -> UsagePage? {
        body.withUnsafeBufferPointer { buffer in
            var scanner = UsagePageScanner(buffer)
            return try? scanner.page(start: start, end: end, centsShift: centsShift, currency: currency)
        }
    }

    mutating func page(start: Int64, end: Int64, centsShift: Int, currency: String) throws(GiveUp) -> UsagePage {
        var hours: [UsageHour] = []
        var sawData = false
        var sawPagination = false
        var hasNext: Bool? = nil
        var cursor: String? = nil
        var cursorUnreadable = false
        try object { (scanner: inout UsagePageScanner, key: UnsafeBufferPointer<UInt8>) throws(GiveUp) in
            if Self.equals(key, "data") {
                guard !sawData else { throw GiveUp() }
                sawData = true
                var sawUsage = false
                try scanner.object {
                    (scanner: inout UsagePageScanner, key: UnsafeBufferPointer<UInt8>) throws(GiveUp) in
                    guard Self.equals(key, "usage") else { return try scanner.skipValue(depth: 2) }
                    guard !sawUsage else { throw GiveUp() }
                    sawUsage = true
                    try scanner.array { (scanner: inout UsagePageScanner) throws(GiveUp) in
                        let hour = try scanner.usageHour(centsShift: centsShift, currency: currency)
                        guard hour.hourStart >= start && hour.hourStart < end else { throw GiveUp() }
                        hours.append(hour)
                    }
                }
            } else if Self.equals(key, "pagination") {
                guard !sawPagination else { throw GiveUp() }
                sawPagination = true
                var sawCursor = false
                try scanner.object {
                    (scanner: inout UsagePageScanner, key: UnsafeBufferPointer<UInt8>) throws(GiveUp) in
                    if Self.equals(key, "hasNextPage") {
                        guard hasNext == nil else { throw GiveUp() }
                        hasNext = try scanner.bool()
                    } else if Self.equals(key, "cursor") {
                        guard !sawCursor else { throw GiveUp() }
                        sawCursor = true
                        if scanner.peek() == UInt8(ascii: "\"") {
                            cursor = try scanner.plainString()
                        } else {
                            cursorUnreadable = true
                            try scanner.skipValue(depth: 2)
                        }
                    } else {
                        try scanner.skipValue(depth: 2)
                    }
                }
            } else {
                try scanner.skipValue(depth: 1)
            }
        }
        skipWhitespace()
        guard i == bytes.count, sawPagination, let hasNext else { throw GiveUp() }
        guard hasNext else { return UsagePage(hours: hours, next: nil) }
        guard !cursorUnreadable, let cursor, !cursor.isEmpty else { throw GiveUp() }
        return UsagePage(hours: hours, next: cursor)
    }

    mutating func usageHour(centsShift: Int, currency: String) throws(GiveUp) -> UsageHour {
        var hour = UsageHour(
            hourStart: -1, currency: currency, paasTotal: .zero, cpu: .zero, memory: .zero, storage: .zero,
            gpu: .zero, byocTotal: .zero, byocVCPU: .zero, byocMemory: .zero, byocGPUMemory: .zero,
            byocCluster: .zero)
        var sawPaas = false
        var sawByoc = false
        try object { (scanner: inout UsagePageScanner, key: UnsafeBufferPointer<UInt8>) throws(GiveUp) in
            if Self.equals(key, "timestamp") {
                guard hour.hourStart < 0 else { throw GiveUp() }
                let t = try scanner.timestamp()
                guard t % 3600 == 0 else { throw GiveUp() }
                hour.hourStart = t
            } else if Self.equals(key, "paasUsage") {
                guard !sawPaas else { throw GiveUp() }
                sawPaas = true
                try scanner.price(depth: 3) { key, amount in
                    if Self.equals(key, "total") {
                        hour.paasTotal = amount.shifted(by: centsShift)
                        return 0
                    }
                    if Self.equals(key, "cpu") {
                        hour.cpu = amount.shifted(by: centsShift)
                        return 1
                    }
                    if Self.equals(key, "memory") {
                        hour.memory = amount.shifted(by: centsShift)
                        return 2
                    }
                    if Self.equals(key, "storage") {
                        hour.storage = amount.shifted(by: centsShift)
                        return 3
                    }
                    if Self.equals(key, "gpu") {
                        hour.gpu = amount.shifted(by: centsShift)
                        return 4
                    }
                    return nil
                }
            } else if Self.equals(key, "byocUsage") {
                guard !sawByoc else { throw GiveUp() }
                sawByoc = true
                try scanner.price(depth: 3) { key, amount in
                    if Self.equals(key, "total") {
                        hour.byocTotal = amount.shifted(by: centsShift)
                        return 0
                    }
                    if Self.equals(key, "vcpu") {
                        hour.byocVCPU = amount.shifted(by: centsShift)
                        return 1
                    }
                    if Self.equals(key, "memory") {
                        hour.byocMemory = amount.shifted(by: centsShift)
                        return 2
                    }
                    if Self.equals(key, "gpuMemory") {
                        hour.byocGPUMemory = amount.shifted(by: centsShift)
                        return 3
                    }
                    if Self.equals(key, "cluster") {
                        hour.byocCluster = amount.shifted(by: centsShift)
                        return 4
                    }
                    return nil
                }
            } else {
                try scanner.skipValue(depth: 3)
            }
        }
        guard hour.hourStart >= 0 else { throw GiveUp() }
        return hour
    }

    /// `{"price": {"total": n, ...}, ...}`: every member of `price` must be a plain number;
    /// `amount` stores a known one and returns its bit (a name read twice gives up), or nil
    /// for a member the general decoder ignores too. Other members of the group are skipped.
    mutating func price(depth: Int, _ amount: (UnsafeBufferPointer<UInt8>, ExactDecimal) -> Int?) throws(GiveUp) {
        var sawPrice = false
        try object { (scanner: inout UsagePageScanner, key: UnsafeBufferPointer<UInt8>) throws(GiveUp) in
            guard Self.equals(key, "price") else { return try scanner.skipValue(depth: depth + 1) }
            guard !sawPrice else { throw GiveUp() }
            sawPrice = true
            var seen = 0
            try scanner.object { (scanner: inout UsagePageScanner, key: UnsafeBufferPointer<UInt8>) throws(GiveUp) in
                if let bit = amount(key, try scanner.number()) {
                    guard seen & (1 << bit) == 0 else { throw GiveUp() }
                    seen |= 1 << bit
                }
            }
        }
    }

    // MARK: - Tokens

    @inline(__always) func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

    @inline(__always) mutating func skipWhitespace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return
            }
        }
    }

    @inline(__always) mutating func expect(_ byte: UInt8) throws(GiveUp) {
        skipWhitespace()
        guard i < bytes.count, bytes[i] == byte else { throw GiveUp() }
        i += 1
    }

    /// `{ "name": value, ... }`; `member` reads each value, positioned after the colon.
    mutating func object(_ member: (inout UsagePageScanner, UnsafeBufferPointer<UInt8>) throws(GiveUp) -> Void)
        throws(GiveUp)
    {
        try expect(UInt8(ascii: "{"))
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            i += 1
            return
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw GiveUp() }
            let key = try plainStringBytes()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            try member(&self, key)
            skipWhitespace()
            guard let b = peek() else { throw GiveUp() }
            i += 1
            if b == UInt8(ascii: ",") { continue }
            if b == UInt8(ascii: "}") { return }
            throw GiveUp()
        }
    }

    mutating func array(_ element: (inout UsagePageScanner) throws(GiveUp) -> Void) throws(GiveUp) {
        try expect(UInt8(ascii: "["))
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            i += 1
            return
        }
        while true {
            skipWhitespace()
            try element(&self)
            skipWhitespace()
            guard let b = peek() else { throw GiveUp() }
            i += 1
            if b == UInt8(ascii: ",") { continue }
            if b == UInt8(ascii: "]") { return }
            throw GiveUp()
        }
    }

    /// A string's bytes, when it has no escape, no control character and only ASCII (so that
    /// its text is exactly its bytes).
    mutating func plainStringBytes() throws(GiveUp) -> UnsafeBufferPointer<UInt8> {
        guard peek() == UInt8(ascii: "\"") else { throw GiveUp() }
        i += 1
        let start = i
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                return UnsafeBufferPointer(rebasing: bytes[start..<(i - 1)])
            }
            guard b >= 0x20, b < 0x80, b != UInt8(ascii: "\\") else { throw GiveUp() }
            i += 1
        }
        throw GiveUp()
    }

    mutating func plainString() throws(GiveUp) -> String {
        String(decoding: try plainStringBytes(), as: UTF8.self)
    }

    mutating func numberBytes() throws(GiveUp) -> UnsafeBufferPointer<UInt8> {
        let start = i
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "e"),
                UInt8(ascii: "E"), UInt8(ascii: "+"):
                i += 1
            default: return UnsafeBufferPointer(rebasing: bytes[start..<i])
            }
        }
        return UnsafeBufferPointer(rebasing: bytes[start..<i])
    }

    mutating func number() throws(GiveUp) -> ExactDecimal {
        guard let value = ExactDecimal(jsonNumber: try numberBytes()) else { throw GiveUp() }
        return value
    }

    /// Whole unix seconds, 1970 to 9999, digits only.
    mutating func timestamp() throws(GiveUp) -> Int64 {
        let digits = try numberBytes()
        guard digits.count >= 1, digits.count <= 12, digits.count == 1 || digits[0] != UInt8(ascii: "0") else {
            throw GiveUp()
        }
        var t: Int64 = 0
        for d in digits {
            guard d >= 48 && d <= 57 else { throw GiveUp() }
            t = t * 10 + Int64(d - 48)
        }
        guard t <= 253_402_300_799 else { throw GiveUp() }
        return t
    }

    mutating func bool() throws(GiveUp) -> Bool {
        if literal("true") { return true }
        if literal("false") { return false }
        throw GiveUp()
    }

    mutating func literal(_ text: StaticString) -> Bool {
        let n = text.utf8CodeUnitCount
        guard i + n <= bytes.count else { return false }
        for k in 0..<n where bytes[i + k] != text.utf8Start[k] { return false }
        i += n
        return true
    }

    /// Any value, checked as strictly as the general parser checks it.
    mutating func skipValue(depth: Int) throws(GiveUp) {
        guard depth < Self.maxDepth else { throw GiveUp() }
        skipWhitespace()
        guard let b = peek() else { throw GiveUp() }
        switch b {
        case UInt8(ascii: "{"):
            try object { (scanner: inout UsagePageScanner, _) throws(GiveUp) in try scanner.skipValue(depth: depth + 1)
            }
        case UInt8(ascii: "["):
            try array { (scanner: inout UsagePageScanner) throws(GiveUp) in try scanner.skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""):
            _ = try plainStringBytes()
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            guard literal("true") || literal("false") || literal("null") else { throw GiveUp() }
        default:
            _ = try number()
        }
    }

    @inline(__always) static func equals(_ key: UnsafeBufferPointer<UInt8>, _ name: StaticString) -> Bool {
        let n = name.utf8CodeUnitCount
        guard key.count == n else { return false }
        return memcmp(key.baseAddress!, name.utf8Start, n) == 0
    }

}

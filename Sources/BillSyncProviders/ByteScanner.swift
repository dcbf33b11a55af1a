import BillSyncCore
import Glibc

/// The tokens of a JSON response read straight from its bytes, for the readers of the shapes
/// that make up nearly all of a sync's bytes (Northflank usage pages, Typesense Cloud invoice
/// details). Each reads only what it can read exactly as ``JSONParser`` and the field reads of
/// ``JSONField`` would, and gives up (``GiveUp``) on anything else; its caller then decodes the
/// same bytes the general way, which yields the same result or names the problem.
struct ByteScanner {
    struct GiveUp: Error {}

    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0
    /// Stays below ``JSONParser``'s limit, so nothing it refuses is read here.
    static let maxDepth = 48

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

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
    mutating func object(_ member: (inout ByteScanner, UnsafeBufferPointer<UInt8>) throws(GiveUp) -> Void)
        throws(GiveUp)
    {
        if try opensEmpty(UInt8(ascii: "{"), UInt8(ascii: "}")) { return }
        repeat {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw GiveUp() }
            let key = try plainStringBytes()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            try member(&self, key)
        } while try !closes(UInt8(ascii: "}"))
    }

    mutating func array(_ element: (inout ByteScanner) throws(GiveUp) -> Void) throws(GiveUp) {
        if try opensEmpty(UInt8(ascii: "["), UInt8(ascii: "]")) { return }
        repeat {
            skipWhitespace()
            try element(&self)
        } while try !closes(UInt8(ascii: "]"))
    }

    /// Reads `open`; true when `close` follows at once (an empty object or array, read).
    mutating func opensEmpty(_ open: UInt8, _ close: UInt8) throws(GiveUp) -> Bool {
        try expect(open)
        skipWhitespace()
        guard peek() == close else { return false }
        i += 1
        return true
    }

    /// After a member or an element: false at `,` (another follows), true at `close`.
    mutating func closes(_ close: UInt8) throws(GiveUp) -> Bool {
        skipWhitespace()
        guard let b = peek() else { throw GiveUp() }
        i += 1
        if b == UInt8(ascii: ",") { return false }
        if b == close { return true }
        throw GiveUp()
    }

    /// The fields a reader has met, so that a field given twice gives up.
    struct Seen {
        private var bits: UInt32 = 0

        /// Notes field `bit`; gives up when it was met before.
        mutating func first(_ bit: UInt32) throws(GiveUp) {
            guard bits & (1 << bit) == 0 else { throw GiveUp() }
            bits |= 1 << bit
        }
    }

    /// From an opening quote, the bytes up to the closing one, when none of them is a control
    /// character (nor, with `asciiOnly`, above 0x7F) and no backslash comes first; nil at a
    /// backslash, which the position is then at.
    mutating func unescapedRun(asciiOnly: Bool) throws(GiveUp) -> UnsafeBufferPointer<UInt8>? {
        guard peek() == UInt8(ascii: "\"") else { throw GiveUp() }
        i += 1
        let start = i
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                return UnsafeBufferPointer(rebasing: bytes[start..<(i - 1)])
            }
            if b == UInt8(ascii: "\\") { return nil }
            guard b >= 0x20, !asciiOnly || b < 0x80 else { throw GiveUp() }
            i += 1
        }
        throw GiveUp()
    }

    /// A string's bytes, when it has no escape, no control character and only ASCII (so that
    /// its text is exactly its bytes).
    mutating func plainStringBytes() throws(GiveUp) -> UnsafeBufferPointer<UInt8> {
        guard let run = try unescapedRun(asciiOnly: true) else { throw GiveUp() }
        return run
    }

    mutating func plainString() throws(GiveUp) -> String {
        String(decoding: try plainStringBytes(), as: UTF8.self)
    }

    /// A string value as ``JSONParser`` reads it: its bytes as UTF-8 (repaired the same way),
    /// the two-character escapes decoded. A `\u` escape gives up.
    mutating func string() throws(GiveUp) -> String {
        let start = i + 1
        if let run = try unescapedRun(asciiOnly: false) { return String(decoding: run, as: UTF8.self) }
        var out = Array(bytes[start..<i])
        while i < bytes.count {
            let b = bytes[i]
            i += 1
            if b == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
            guard b >= 0x20 else { throw GiveUp() }
            guard b == UInt8(ascii: "\\") else {
                out.append(b)
                continue
            }
            guard i < bytes.count, let e = Self.unescaped(bytes[i]) else { throw GiveUp() }
            out.append(e)
            i += 1
        }
        throw GiveUp()
    }

    /// A string skipped as ``string()`` reads it.
    mutating func skipString() throws(GiveUp) {
        guard peek() == UInt8(ascii: "\"") else { throw GiveUp() }
        i += 1
        while i < bytes.count {
            let b = bytes[i]
            i += 1
            if b == UInt8(ascii: "\"") { return }
            guard b >= 0x20 else { throw GiveUp() }
            if b == UInt8(ascii: "\\") {
                guard i < bytes.count, Self.unescaped(bytes[i]) != nil else { throw GiveUp() }
                i += 1
            }
        }
        throw GiveUp()
    }

    /// The byte a two-character escape stands for; nil for `\u` and for what JSON does not allow.
    static func unescaped(_ e: UInt8) -> UInt8? {
        switch e {
        case UInt8(ascii: "\""): 0x22
        case UInt8(ascii: "\\"): 0x5C
        case UInt8(ascii: "/"): 0x2F
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        default: nil
        }
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
            try object { (scanner: inout ByteScanner, _) throws(GiveUp) in try scanner.skipValue(depth: depth + 1)
            }
        case UInt8(ascii: "["):
            try array { (scanner: inout ByteScanner) throws(GiveUp) in try scanner.skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""):
            try skipString()
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

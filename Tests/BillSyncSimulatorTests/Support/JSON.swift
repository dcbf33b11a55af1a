/// A strict JSON parser for tests that keeps every number as its exact source text, so
/// amounts can be compared digit for digit.
indirect enum JSON: Equatable, CustomStringConvertible {
    case object([String: JSON], keys: [String])
    case array([JSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    struct ParseError: Error, CustomStringConvertible {
        let offset: Int
        let reason: String
        var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    static func parse(_ bytes: [UInt8]) throws -> JSON {
        var parser = Parser(bytes: bytes)
        let value = try parser.value()
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw ParseError(offset: parser.position, reason: "trailing data") }
        return value
    }

    subscript(key: String) -> JSON? {
        if case .object(let members, _) = self { return members[key] }
        return nil
    }

    subscript(index: Int) -> JSON? {
        if case .array(let items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }

    var keys: [String] {
        if case .object(_, let keys) = self { return keys }
        return []
    }

    var array: [JSON] {
        if case .array(let items) = self { return items }
        return []
    }

    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The number exactly as written.
    var number: String? {
        if case .number(let text) = self { return text }
        return nil
    }

    var int: Int64? { number.flatMap { Int64($0) } }

    var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    var isNull: Bool { self == .null }

    var description: String {
        switch self {
        case .object(let members, let keys): "{" + keys.map { "\($0): \(members[$0]!)" }.joined(separator: ", ") + "}"
        case .array(let items): "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .string(let text): "\"\(text)\""
        case .number(let text): text
        case .bool(let value): String(value)
        case .null: "null"
        }
    }

    private struct Parser {
        let bytes: [UInt8]
        var position = 0

        mutating func skipWhitespace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) {
                position += 1
            }
        }

        mutating func value() throws -> JSON {
            skipWhitespace()
            guard position < bytes.count else { throw ParseError(offset: position, reason: "unexpected end") }
            switch bytes[position] {
            case UInt8(ascii: "{"): return try object()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            default: return .number(try number())
            }
        }

        mutating func literal(_ word: String) throws {
            let expected = Array(word.utf8)
            guard bytes.count - position >= expected.count,
                Array(bytes[position..<position + expected.count]) == expected
            else { throw ParseError(offset: position, reason: "expected \(word)") }
            position += expected.count
        }

        mutating func object() throws -> JSON {
            position += 1
            var members: [String: JSON] = [:]
            var keys: [String] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(members, keys: keys)
            }
            while true {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                    throw ParseError(offset: position, reason: "expected a key")
                }
                let key = try string()
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
                    throw ParseError(offset: position, reason: "expected :")
                }
                position += 1
                guard members[key] == nil else { throw ParseError(offset: position, reason: "duplicate key \(key)") }
                members[key] = try value()
                keys.append(key)
                skipWhitespace()
                guard position < bytes.count else { throw ParseError(offset: position, reason: "unexpected end") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                } else if bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    return .object(members, keys: keys)
                } else {
                    throw ParseError(offset: position, reason: "expected , or }")
                }
            }
        }

        mutating func array() throws -> JSON {
            position += 1
            var items: [JSON] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(items)
            }
            while true {
                items.append(try value())
                skipWhitespace()
                guard position < bytes.count else { throw ParseError(offset: position, reason: "unexpected end") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                } else if bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    return .array(items)
                } else {
                    throw ParseError(offset: position, reason: "expected , or ]")
                }
            }
        }

        mutating func string() throws -> String {
            position += 1
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []
            func flush() {
                scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
                raw = []
            }
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    flush()
                    return String(scalars)
                case 0..<0x20:
                    throw ParseError(offset: position - 1, reason: "unescaped control character")
                case UInt8(ascii: "\\"):
                    flush()
                    guard position < bytes.count else { break }
                    let escape = bytes[position]
                    position += 1
                    switch escape {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if (0xD800..<0xDC00).contains(code) {
                            try literal("\\u")
                            code = 0x10000 + ((code - 0xD800) << 10) + (try hex4() - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else {
                            throw ParseError(offset: position, reason: "bad \\u escape")
                        }
                        scalars.append(scalar)
                    default:
                        throw ParseError(offset: position - 1, reason: "bad escape")
                    }
                default:
                    raw.append(byte)
                }
            }
            throw ParseError(offset: position, reason: "unterminated string")
        }

        mutating func hex4() throws -> UInt32 {
            guard position + 4 <= bytes.count,
                let value = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16)
            else { throw ParseError(offset: position, reason: "bad \\u escape") }
            position += 4
            return value
        }

        /// RFC 8259 number grammar, kept as text.
        mutating func number() throws -> String {
            let start = position
            func digits() -> Int {
                let from = position
                while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
                    position += 1
                }
                return position - from
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
            let integerStart = position
            let integerDigits = digits()
            guard integerDigits > 0, integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else {
                throw ParseError(offset: start, reason: "bad number")
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
                position += 1
                guard digits() > 0 else { throw ParseError(offset: start, reason: "bad fraction") }
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
                position += 1
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")
                {
                    position += 1
                }
                guard digits() > 0 else { throw ParseError(offset: start, reason: "bad exponent") }
            }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }
    }
}

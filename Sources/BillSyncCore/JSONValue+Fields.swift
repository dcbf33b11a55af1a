/// A required field was absent or of the wrong type; `path` names it as `invoices[3].total`.
public struct FieldError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "field \(path): \(problem)" }
}

/// Typed reads from a ``JSONValue`` that name the offending field in their errors.
public struct JSONField: Sendable {
    public let value: JSONValue
    private let location: Location

    /// Where a field sits, spelled out only when an error names it: a detail page's hundred
    /// fields are read for each of thousands of invoices, and none of them fails.
    private indirect enum Location: Sendable {
        case root(String)
        case member(Location, String)
        case element(Location, Int)

        var path: String {
            switch self {
            case .root(let path): path
            case .member(let parent, let key): parent.path + "." + key
            case .element(let parent, let index): parent.path + "[\(index)]"
            }
        }
    }

    public init(_ value: JSONValue, path: String = "$") {
        self.value = value
        self.location = .root(path)
    }

    private init(_ value: JSONValue, location: Location) {
        self.value = value
        self.location = location
    }

    /// The field as `$.invoices[3].total`.
    public var path: String { location.path }

    func wrongType(_ expected: String) -> FieldError {
        FieldError(path: path, problem: "expected \(expected), found \(value.typeName)")
    }

    public var isNull: Bool { value == .null }

    /// A member that must be present and not null.
    public func require(_ key: String) throws(FieldError) -> JSONField {
        guard case .object(let members) = value else { throw wrongType("object") }
        guard let member = members[key], member != .null else {
            throw FieldError(path: "\(path).\(key)", problem: "required field is missing")
        }
        return JSONField(member, location: .member(location, key))
    }

    /// A member that may be absent or null.
    public func optional(_ key: String) throws(FieldError) -> JSONField? {
        guard case .object(let members) = value else { throw wrongType("object") }
        guard let member = members[key], member != .null else { return nil }
        return JSONField(member, location: .member(location, key))
    }

    public func string() throws(FieldError) -> String {
        guard case .string(let s) = value else { throw wrongType("string") }
        return s
    }

    public func bool() throws(FieldError) -> Bool {
        guard case .bool(let b) = value else { throw wrongType("boolean") }
        return b
    }

    /// An exact decimal from a JSON number, or from a string holding one (some servers write
    /// amounts as strings: `"12.50"`, `"2.9e-7"`); the same text gives the same value either way.
    public func decimal() throws(FieldError) -> ExactDecimal {
        switch value {
        case .number(let text):
            do { return try ExactDecimal(parsing: text) } catch {
                throw FieldError(path: path, problem: error.description)
            }
        case .string(let text):
            do { return try ExactDecimal(parsing: text) } catch {
                throw FieldError(
                    path: path,
                    problem: "expected a number or a string holding one, found the string \"\(text.prefix(40))\"")
            }
        default:
            throw wrongType("number")
        }
    }

    /// Whole seconds; a fractional timestamp (`1700000000.0`) is accepted when it is whole.
    public func int64() throws(FieldError) -> Int64 {
        let d = try decimal()
        var n = d
        n.normalizeScale()
        guard n.scale == 0, let v = Int64(exactly: n.significand) else {
            throw FieldError(path: path, problem: "expected a whole number, found \(d)")
        }
        return v
    }

    /// Unix seconds between 1970 and 9999 (anything else is not a billing time).
    public func timestamp() throws(FieldError) -> Int64 {
        let t = try int64()
        guard t >= 0 && t <= 253_402_300_799 else {
            throw FieldError(path: path, problem: "\(t) is not a unix time between 1970 and 9999")
        }
        return t
    }

    /// Integer or numeric string (ids are strings at some providers and numbers at others).
    public func text() throws(FieldError) -> String {
        switch value {
        case .string(let s): return s
        case .number(let n): return n
        default: throw wrongType("string or number")
        }
    }

    public func array() throws(FieldError) -> [JSONField] {
        guard case .array(let items) = value else { throw wrongType("array") }
        return items.enumerated().map { JSONField($0.element, location: .element(location, $0.offset)) }
    }
}

extension JSONValue {
    /// Compact JSON with object keys sorted, for stable `attributes` cells.
    public var canonicalText: String {
        var out: [UInt8] = []
        writeCanonical(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func writeCanonical(into out: inout [UInt8]) {
        switch self {
        case .null: out += "null".utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .number(let n): out += n.utf8
        case .string(let s): JSONValue.writeQuoted(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.writeCanonical(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (n, member) in members.canonicalOrder().enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeQuoted(members.names[member.name], into: &out)
                out.append(UInt8(ascii: ":"))
                members.values[member.value].writeCanonical(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `s` as a JSON string literal.
    public static func writeQuoted(_ s: String, into out: inout String) {
        var bytes: [UInt8] = []
        writeQuoted(s, into: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `s` as a JSON string literal, as UTF-8.
    public static func writeQuoted(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Nearly every string needs no escape: copied whole.
        let plain = s.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            for b in bytes where b < 0x20 || b == 0x7F || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
                return false
            }
            out.append(contentsOf: bytes)
            return true
        }
        if plain == true {
            out.append(UInt8(ascii: "\""))
            return
        }
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                out += [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(b >> 4)],
                    hex[Int(b & 15)],
                ]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

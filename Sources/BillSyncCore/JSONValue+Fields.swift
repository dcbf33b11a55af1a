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
    public let path: String

    public init(_ value: JSONValue, path: String = "$") {
        self.value = value
        self.path = path
    }

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
        return JSONField(member, path: "\(path).\(key)")
    }

    /// A member that may be absent or null.
    public func optional(_ key: String) throws(FieldError) -> JSONField? {
        guard case .object(let members) = value else { throw wrongType("object") }
        guard let member = members[key], member != .null else { return nil }
        return JSONField(member, path: "\(path).\(key)")
    }

    public func string() throws(FieldError) -> String {
        guard case .string(let s) = value else { throw wrongType("string") }
        return s
    }

    public func bool() throws(FieldError) -> Bool {
        guard case .bool(let b) = value else { throw wrongType("boolean") }
        return b
    }

    public func decimal() throws(FieldError) -> ExactDecimal {
        guard case .number(let text) = value else { throw wrongType("number") }
        do { return try ExactDecimal(parsing: text) } catch {
            throw FieldError(path: path, problem: error.description)
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
        return items.enumerated().map { JSONField($0.element, path: "\(path)[\($0.offset)]") }
    }
}

extension JSONValue {
    /// Compact JSON with object keys sorted, for stable `attributes` cells.
    public var canonicalText: String {
        var out = ""
        writeCanonical(into: &out)
        return out
    }

    func writeCanonical(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): JSONValue.writeQuoted(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.writeCanonical(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeQuoted(key, into: &out)
                out += ":"
                members[key]!.writeCanonical(into: &out)
            }
            out += "}"
        }
    }

    /// Appends `s` as a JSON string literal.
    public static func writeQuoted(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

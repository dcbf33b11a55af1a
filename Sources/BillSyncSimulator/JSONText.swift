/// JSON written by hand as UTF-8 text: numbers are only ever integers or `WireAmount`
/// digits, strings are escaped here, and separators are placed automatically.
///
///     var json = JSONText()
///     json.beginObject()
///     json.field("id", "uf_inv_1")
///     json.field("amount", WireAmount(1205, scale: 1))
///     json.endObject()
///     // {"id":"uf_inv_1","amount":120.5}
struct JSONText {
    private(set) var bytes: [UInt8] = []
    private var needsComma = false

    init(capacity: Int = 1024) {
        bytes.reserveCapacity(capacity)
    }

    /// One object, its members written by `body`.
    static func object(_ body: (inout JSONText) -> Void) -> JSONText {
        var json = JSONText()
        json.beginObject()
        body(&json)
        json.endObject()
        return json
    }

    mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// A member name written in the source: copied as it is (it needs no escaping).
    mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        for i in 0..<name.utf8CodeUnitCount { bytes.append(name.utf8Start[i]) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A member name from data, escaped as needed.
    mutating func key(named name: String) {
        separate()
        Self.appendQuoted(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    mutating func string(_ value: String) {
        separate()
        Self.appendQuoted(value, to: &bytes)
        needsComma = true
    }

    mutating func integer(_ value: Int64) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
        needsComma = true
    }

    mutating func decimal(_ value: WireAmount, minFractionDigits: Int = 0) {
        separate()
        value.append(to: &bytes, minFractionDigits: minFractionDigits)
        needsComma = true
    }

    mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
        needsComma = true
    }

    mutating func null() {
        separate()
        bytes.append(contentsOf: "null".utf8)
        needsComma = true
    }

    mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        string(value)
    }

    mutating func field(_ name: StaticString, _ value: Int64) {
        key(name)
        integer(value)
    }

    mutating func field(_ name: StaticString, _ value: Int) {
        key(name)
        integer(Int64(value))
    }

    mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        bool(value)
    }

    mutating func field(_ name: StaticString, _ value: WireAmount, minFractionDigits: Int = 0) {
        key(name)
        decimal(value, minFractionDigits: minFractionDigits)
    }

    /// A number as JavaScript's `JSON.stringify` writes it: the shortest digits, with an
    /// exponent below 10^-6 (`2.9e-7`) and from 10^21 on (`1e+21`).
    mutating func javaScriptNumber(_ name: StaticString, _ value: WireAmount) {
        key(name)
        separate()
        value.appendJavaScript(to: &bytes)
        needsComma = true
    }

    /// A major-unit money string: `"1250.00"`, `"0.123456"`.
    mutating func moneyString(_ name: StaticString, _ value: WireAmount) {
        field(name, value.text(minFractionDigits: 2))
    }

    private mutating func separate() {
        if needsComma {
            bytes.append(UInt8(ascii: ","))
        }
    }

    static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        let copied = text.withUTF8 { utf8 in
            for byte in utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                return false
            }
            out.append(contentsOf: utf8)
            return true
        }
        guard !copied else {
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x0D: out.append(contentsOf: #"\r"#.utf8)
            case 0x09: out.append(contentsOf: #"\t"#.utf8)
            case 0x08: out.append(contentsOf: #"\b"#.utf8)
            case 0x0C: out.append(contentsOf: #"\f"#.utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

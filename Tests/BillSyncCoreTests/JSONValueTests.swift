import BillSyncCore
import Testing

@Suite struct JSONValueTests {
    @Test func numbersKeepTheirText() throws {
        let json = try JSONValue.parse(#"{"a": 1234.5678, "b": [1e3, -0.0], "s": "x\u00e9\n\"", "t": true, "n": null}"#)
        guard case .object(let m) = json else {
            Issue.record("not an object")
            return
        }
        #expect(m["a"] == .number("1234.5678"))
        #expect(m["b"] == .array([.number("1e3"), .number("-0.0")]))
        #expect(m["s"] == .string("xé\n\""))
        #expect(m["t"] == .bool(true))
        #expect(m["n"] == .null)
    }

    @Test func surrogatePairsDecode() throws {
        #expect(try JSONValue.parse(#""\ud83d\ude00""#) == .string("😀"))
    }

    @Test func malformedTextIsRejectedWithAnOffset() {
        for text in ["{", "{\"a\":}", "[1,]", "{\"a\":1} x", "\"abc", "01", "{\"a\" 1}", "[\"\u{01}\"]", "\"\\ud800\""]
        {
            #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(text) }
        }
    }

    @Test func fieldErrorsNameThePath() throws {
        let root = JSONField(try JSONValue.parse(#"{"data":{"invoices":[{"id":"a"},{"total":1}]}}"#))
        let items = try root.require("data").require("invoices").array()
        #expect(throws: FieldError.self) { try items[1].require("id") }
        do { _ = try items[1].require("id") } catch {
            #expect(error.description == "field $.data.invoices[1].id: required field is missing")
        }
        do { _ = try items[0].require("id").decimal() } catch {
            #expect(
                error.description
                    == "field $.data.invoices[0].id: expected a number or a string holding one, found the string \"a\"")
        }
    }

    @Test func canonicalTextSortsKeys() throws {
        let json = try JSONValue.parse(#"{"b": 1, "a": {"z": "x", "c": [true, null]}}"#)
        #expect(json.canonicalText == #"{"a":{"c":[true,null],"z":"x"},"b":1}"#)
    }

    /// Objects of ASCII and non-ASCII names, some repeated, small and large: the canonical text
    /// orders them as `String` does and keeps a repeated name's last value (canonically
    /// equivalent spellings are one name, written as it first appears).
    @Test func canonicalTextOrdersNamesAsStringsDoAndKeepsTheLastOfARepeatedName() throws {
        #expect(
            try JSONValue.parse(#"{"b":1,"a":2,"b":3,"\u00e9":4,"e":5,"Z":6,"e\u0301":7}"#).canonicalText
                == #"{"Z":6,"a":2,"b":3,"e":5,"é":7}"#)
        let pool = ["a", "b", "Z", "_x", "a1", "é", "ü", "B", "aa", "~", "high_availability_option", "cluster_id"]
        var seed: UInt64 = 7
        func roll(_ n: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(n))
        }
        for round in 0..<300 {
            var members: [(String, Int)] = []
            for k in 0..<(round % 3 == 0 ? 20 + roll(20) : roll(12)) {
                members.append((round % 2 == 0 ? pool[roll(pool.count)] : pool[roll(5)] + String(roll(30)), k))
            }
            let text = "{" + members.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
            var last: [String: Int] = [:]
            for (name, value) in members { last[name] = value }
            let expected = "{" + last.keys.sorted().map { "\"\($0)\":\(last[$0]!)" }.joined(separator: ",") + "}"
            #expect(try JSONValue.parse(text).canonicalText == expected, "\(text)")
        }
    }
}

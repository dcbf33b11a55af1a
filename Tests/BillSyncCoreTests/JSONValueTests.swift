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
}

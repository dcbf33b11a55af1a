/// Rewrites a provider's JSON body as servers that write it differently would: the same values
/// in neighbouring types (``looseTypes(_:for:)``), or without a member (``omitting(_:member:)``).
/// Works on the compact text the simulator writes.
enum BodyRewrite {
    /// The numbers that servers also send as strings: money, and Typesense's invoice `number`.
    static func stringKeys(_ kind: SimulatedProvider) -> Set<String> {
        switch kind {
        case .northflank: ["total", "subTotal", "cpu", "memory", "storage", "gpu", "vcpu", "gpuMemory", "cluster"]
        case .typesense: ["amount_cents", "price_cents", "unit_price_cents", "paid_via_credits_cents", "number"]
        case .usageflow: ["amount"]
        }
    }

    /// The members holding unix times, per provider (UsageFlow writes ISO-8601 text).
    static func timeKeys(_ kind: SimulatedProvider) -> Set<String> {
        switch kind {
        case .northflank: ["start", "end", "timestamp"]
        case .typesense: ["period_starts_at", "period_ends_at", "invoice_date"]
        case .usageflow: []
        }
    }

    /// Amounts as strings holding the same decimal text (and Typesense's invoice `number` as a
    /// string), unix times as integral floats (`1793491200.0`), ids made of digits as numbers.
    /// The values stay the same, so a client that reads them exactly gives the same result from
    /// either body.
    static func looseTypes(_ body: [UInt8], for kind: SimulatedProvider) -> [UInt8] {
        let strings = stringKeys(kind)
        let times = timeKeys(kind)
        var out: [UInt8] = []
        out.reserveCapacity(body.count + body.count / 8)
        var i = 0
        var lastString: ArraySlice<UInt8> = []
        var key: String?
        while i < body.count {
            let b = body[i]
            if b == UInt8(ascii: "\"") {
                var j = i + 1
                while j < body.count, body[j] != UInt8(ascii: "\"") { j += body[j] == UInt8(ascii: "\\") ? 2 : 1 }
                let text = body[(i + 1)..<min(j, body.count)]
                if key == "id", !text.isEmpty, text.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
                    out.append(contentsOf: text)  // a value, not a key: the id as a number
                    key = nil
                } else {
                    out.append(contentsOf: body[i..<min(j + 1, body.count)])
                }
                lastString = text
                i = j + 1
                continue
            }
            if b == UInt8(ascii: ":") {
                key = String(decoding: lastString, as: UTF8.self)
                out.append(b)
                i += 1
                continue
            }
            if b == UInt8(ascii: "-") || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")), let name = key {
                var j = i
                while j < body.count, "+-.eE0123456789".utf8.contains(body[j]) { j += 1 }
                let number = body[i..<j]
                if strings.contains(name) {
                    out.append(UInt8(ascii: "\""))
                    out.append(contentsOf: number)
                    out.append(UInt8(ascii: "\""))
                } else if times.contains(name), !number.contains(UInt8(ascii: ".")), !number.contains(UInt8(ascii: "e"))
                {
                    out.append(contentsOf: number)
                    out.append(contentsOf: ".0".utf8)
                } else {
                    out.append(contentsOf: number)
                }
                key = nil
                i = j
                continue
            }
            if b == UInt8(ascii: ",") || b == UInt8(ascii: "{") || b == UInt8(ascii: "[") { key = nil }
            out.append(b)
            i += 1
        }
        return out
    }

    /// The body without any member named `member`, at any depth.
    static func omitting(_ body: [UInt8], member: String) -> [UInt8] {
        let name = Array(member.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var i = 0
        while i < body.count {
            guard body[i] == UInt8(ascii: "\"") else {
                out.append(body[i])
                i += 1
                continue
            }
            let end = stringEnd(body, i)
            if end < body.count, body[end] == UInt8(ascii: ":"), Array(body[(i + 1)..<(end - 1)]) == name {
                var next = valueEnd(body, end + 1)
                if next < body.count, body[next] == UInt8(ascii: ",") {
                    next += 1
                } else if out.last == UInt8(ascii: ",") {
                    out.removeLast()
                }
                i = next
                continue
            }
            out.append(contentsOf: body[i..<end])
            i = end
        }
        return out
    }

    /// The index just past the string that starts at `start`.
    private static func stringEnd(_ body: [UInt8], _ start: Int) -> Int {
        var j = start + 1
        while j < body.count, body[j] != UInt8(ascii: "\"") { j += body[j] == UInt8(ascii: "\\") ? 2 : 1 }
        return min(j + 1, body.count)
    }

    /// The index just past the value that starts at `start`.
    private static func valueEnd(_ body: [UInt8], _ start: Int) -> Int {
        var j = start
        var depth = 0
        while j < body.count {
            switch body[j] {
            case UInt8(ascii: "\""):
                j = stringEnd(body, j)
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 { return j }
                depth -= 1
                if depth == 0 { return j + 1 }
            case UInt8(ascii: ","):
                if depth == 0 { return j }
            default: break
            }
            j += 1
        }
        return j
    }
}

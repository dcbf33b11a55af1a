/// Rewrites a JSON body the way some servers write the same values with neighbouring types:
/// amounts as strings holding the same decimal text, unix times as integral floats
/// (`1793491200.0`). The values stay the same, so a client that reads them exactly gives the
/// same result from either body.
enum LooseTypes {
    /// The members holding money, per provider.
    static func amountKeys(_ kind: ProviderKind) -> Set<String> {
        switch kind {
        case .northflank: ["total", "subTotal", "cpu", "memory", "storage", "gpu", "vcpu", "gpuMemory", "cluster"]
        case .typesense: ["amount_cents", "price_cents", "unit_price_cents", "paid_via_credits_cents"]
        case .usageflow: ["amount"]
        }
    }

    /// The members holding unix times, per provider (UsageFlow writes ISO-8601 text).
    static func timeKeys(_ kind: ProviderKind) -> Set<String> {
        switch kind {
        case .northflank: ["start", "end", "timestamp"]
        case .typesense: ["period_starts_at", "period_ends_at", "invoice_date"]
        case .usageflow: []
        }
    }

    static func rewrite(_ body: [UInt8], for kind: ProviderKind) -> [UInt8] {
        let amounts = amountKeys(kind), times = timeKeys(kind)
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
                lastString = body[(i + 1)..<min(j, body.count)]
                out.append(contentsOf: body[i..<min(j + 1, body.count)])
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
                if amounts.contains(name) {
                    out.append(UInt8(ascii: "\""))
                    out.append(contentsOf: number)
                    out.append(UInt8(ascii: "\""))
                } else if times.contains(name), !number.contains(UInt8(ascii: ".")), !number.contains(UInt8(ascii: "e")) {
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
}

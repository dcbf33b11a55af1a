import BillSyncCore
import Glibc

/// Reads a Typesense Cloud invoice detail straight from the response bytes, without building
/// a ``JSONValue`` tree: a backfill reads one detail per invoice, each with a dozen line items
/// and their parameters.
///
/// It accepts the documented shape only: each field it reads present once, not null, and of
/// the type the docs give; the line items' `parameters` flat (strings, numbers, booleans).
/// Anything else gives up (nil), and the caller decodes the same bytes the general way, which
/// yields the same invoice or names the problem (the decoder fuzz test checks both ways).
enum TypesenseDetailScanner {
    static func scan(_ body: [UInt8]) -> TypesenseCloudProvider.InvoiceFields? {
        body.withUnsafeBufferPointer { buffer in
            var scanner = ByteScanner(buffer)
            return try? scanner.typesenseInvoice()
        }
    }
}

extension ByteScanner {
    mutating func typesenseInvoice() throws(GiveUp) -> TypesenseCloudProvider.InvoiceFields {
        var id: String?
        var total: ExactDecimal?
        var start: Int64?
        var end: Int64?
        var fields = TypesenseCloudProvider.InvoiceFields(id: "", totalCents: .zero, periodStart: 0, periodEnd: 0)
        var seen = Seen()
        try object { (scanner: inout ByteScanner, key: UnsafeBufferPointer<UInt8>) throws(GiveUp) in
            if Self.equals(key, "id") {
                try seen.first(0)
                id = try scanner.text()
            } else if Self.equals(key, "amount_cents") {
                try seen.first(1)
                total = try scanner.number()
            } else if Self.equals(key, "period_starts_at") {
                try seen.first(2)
                start = try scanner.timestamp()
            } else if Self.equals(key, "period_ends_at") {
                try seen.first(3)
                end = try scanner.timestamp()
            } else if Self.equals(key, "status") {
                try seen.first(4)
                fields.status = try scanner.string()
            } else if Self.equals(key, "invoice_date") {
                try seen.first(5)
                fields.invoiceDate = try scanner.timestamp()
            } else if Self.equals(key, "payment") {
                try seen.first(6)
                try scanner.object { (scanner: inout ByteScanner, key: UnsafeBufferPointer<UInt8>) throws(GiveUp) in
                    guard Self.equals(key, "paid_via_credits_cents") else { return try scanner.skipValue(depth: 2) }
                    guard fields.creditsCents == nil else { throw GiveUp() }
                    fields.creditsCents = try scanner.number()
                }
            } else if Self.equals(key, "line_items") {
                try seen.first(7)
                var lines: [TypesenseCloudProvider.LineFields] = []
                try scanner.array { (scanner: inout ByteScanner) throws(GiveUp) in
                    lines.append(try scanner.typesenseLine())
                }
                fields.lines = lines
            } else if Self.equals(key, "number") {
                try seen.first(8)
                fields.number = try scanner.text()
            } else if Self.equals(key, "invoice_html_url") {
                try seen.first(9)
                fields.url = try scanner.string()
            } else {
                try scanner.skipValue(depth: 1)
            }
        }
        skipWhitespace()
        guard i == bytes.count, let id, let total, let start, let end else { throw GiveUp() }
        fields.id = id
        fields.totalCents = total
        fields.periodStart = start
        fields.periodEnd = end
        return fields
    }

    mutating func typesenseLine() throws(GiveUp) -> TypesenseCloudProvider.LineFields {
        var type: String?
        var price: ExactDecimal?
        var line = TypesenseCloudProvider.LineFields(type: "", priceCents: .zero, attributes: "")
        var seen = Seen()
        try object { (scanner: inout ByteScanner, key: UnsafeBufferPointer<UInt8>) throws(GiveUp) in
            if Self.equals(key, "line_item_type") {
                try seen.first(0)
                type = try scanner.string()
            } else if Self.equals(key, "price_cents") {
                try seen.first(1)
                price = try scanner.number()
            } else if Self.equals(key, "parameters") {
                try seen.first(2)
                try scanner.parameters(&line)
            } else if Self.equals(key, "description") {
                try seen.first(3)
                line.description = try scanner.string()
            } else if Self.equals(key, "quantity") {
                try seen.first(4)
                line.quantity = try scanner.number()
            } else if Self.equals(key, "unit_price_cents") {
                try seen.first(5)
                line.unitPriceCents = try scanner.number()
            } else {
                try scanner.skipValue(depth: 3)
            }
        }
        guard let type, let price else { throw GiveUp() }
        line.type = type
        line.priceCents = price
        return line
    }

    /// A flat `parameters` object: its `cluster_id`, and its members as compact JSON with the
    /// names in byte order (ASCII names, so the order ``JSONValue/canonicalText`` gives).
    mutating func parameters(_ line: inout TypesenseCloudProvider.LineFields) throws(GiveUp) {
        // Each member as offsets into the body: its name's, and its value's text.
        var members: [(name: Range<Int>, value: Range<Int>)] = []
        members.reserveCapacity(12)
        var cluster: String?
        var length = 2
        try object { (scanner: inout ByteScanner, key: UnsafeBufferPointer<UInt8>) throws(GiveUp) in
            let base = scanner.bytes.baseAddress!
            let name = (key.baseAddress! - base)..<(key.baseAddress! - base + key.count)
            for member in members where member.name.count == key.count {
                if memcmp(base + member.name.lowerBound, key.baseAddress!, key.count) == 0 { throw GiveUp() }
            }
            let from = scanner.i
            switch scanner.peek() {
            case UInt8(ascii: "\""):
                // Written back as it came: so nothing in it may need an escape.
                let text = try scanner.plainStringBytes()
                guard !text.contains(0x7F) else { throw GiveUp() }
                if Self.equals(key, "cluster_id") { cluster = String(decoding: text, as: UTF8.self) }
            case UInt8(ascii: "t"), UInt8(ascii: "f"):
                guard !Self.equals(key, "cluster_id") else { throw GiveUp() }
                _ = try scanner.bool()
            default:
                let number = try scanner.numberBytes()
                guard ExactDecimal(jsonNumber: number) != nil else { throw GiveUp() }
                if Self.equals(key, "cluster_id") { cluster = String(decoding: number, as: UTF8.self) }
            }
            members.append((name, from..<scanner.i))
            length += name.count + 3 + (scanner.i - from) + 1
        }
        line.clusterID = cluster
        guard !members.isEmpty else { return }
        let base = bytes.baseAddress!
        func precedes(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
            let c = memcmp(base + a.lowerBound, base + b.lowerBound, min(a.count, b.count))
            return c < 0 || (c == 0 && a.count < b.count)
        }
        // A dozen names at most in practice: an insertion sort.
        for k in 1..<members.count {
            let member = members[k]
            var j = k
            while j > 0, precedes(member.name, members[j - 1].name) {
                members[j] = members[j - 1]
                j -= 1
            }
            members[j] = member
        }
        line.attributes = String(unsafeUninitializedCapacity: length) { out in
            var n = 0
            func put(_ byte: UInt8) {
                out[n] = byte
                n += 1
            }
            func put(_ range: Range<Int>) {
                for k in range { out[n + k - range.lowerBound] = base[k] }
                n += range.count
            }
            put(UInt8(ascii: "{"))
            for (k, member) in members.enumerated() {
                if k > 0 { put(UInt8(ascii: ",")) }
                put(UInt8(ascii: "\""))
                put(member.name)
                put(UInt8(ascii: "\""))
                put(UInt8(ascii: ":"))
                put(member.value)
            }
            put(UInt8(ascii: "}"))
            return n
        }
    }

    /// A field the general decoder reads as text: a string, or a number's own digits.
    mutating func text() throws(GiveUp) -> String {
        if peek() == UInt8(ascii: "\"") { return try string() }
        let number = try numberBytes()
        guard ExactDecimal(jsonNumber: number) != nil else { throw GiveUp() }
        return String(decoding: number, as: UTF8.self)
    }
}

import BillSyncCore

/// Reads a Northflank usage page straight from the response bytes, without building a
/// ``JSONValue`` tree: usage is nearly all of a backfill's bytes.
///
/// It accepts only what it can read unambiguously — the documented shape, plain numbers,
/// strings without escapes, no repeated member, nothing past the limits of the general
/// parser — and gives up (nil) on anything else. The caller then decodes the same bytes the
/// general way, which yields the same page or names the problem. Where it returns a page,
/// that page equals the general decoder's (the decoder fuzz test checks both ways).
enum UsagePageScanner {
    /// The page, or nil to decode the general way. `centsShift` and `currency` as the provider's.
    static func scan(_ body: [UInt8], start: Int64, end: Int64, centsShift: Int, currency: String) -> UsagePage? {
        body.withUnsafeBufferPointer { buffer in
            var scanner = ByteScanner(buffer)
            return try? scanner.usagePage(start: start, end: end, centsShift: centsShift, currency: currency)
        }
    }
}

extension ByteScanner {
    mutating func usagePage(start: Int64, end: Int64, centsShift: Int, currency: String) throws(GiveUp) -> UsagePage {
        var hours: [UsageHour] = []
        var sawData = false
        var sawPagination = false
        var hasNext: Bool? = nil
        var cursor: String? = nil
        var cursorUnreadable = false
        try object { (scanner: inout ByteScanner, key: UnsafeBufferPointer<UInt8>) throws(GiveUp) in
            if Self.equals(key, "data") {
                guard !sawData else { throw GiveUp() }
                sawData = true
                var sawUsage = false
                try scanner.object {
                    (scanner: inout ByteScanner, key: UnsafeBufferPointer<UInt8>) throws(GiveUp) in
                    guard Self.equals(key, "usage") else { return try scanner.skipValue(depth: 2) }
                    guard !sawUsage else { throw GiveUp() }
                    sawUsage = true
                    try scanner.array { (scanner: inout ByteScanner) throws(GiveUp) in
                        let hour = try scanner.usageHour(centsShift: centsShift, currency: currency)
                        guard hour.hourStart >= start && hour.hourStart < end else { throw GiveUp() }
                        hours.append(hour)
                    }
                }
            } else if Self.equals(key, "pagination") {
                guard !sawPagination else { throw GiveUp() }
                sawPagination = true
                var sawCursor = false
                try scanner.object {
                    (scanner: inout ByteScanner, key: UnsafeBufferPointer<UInt8>) throws(GiveUp) in
                    if Self.equals(key, "hasNextPage") {
                        guard hasNext == nil else { throw GiveUp() }
                        hasNext = try scanner.bool()
                    } else if Self.equals(key, "cursor") {
                        guard !sawCursor else { throw GiveUp() }
                        sawCursor = true
                        if scanner.peek() == UInt8(ascii: "\"") {
                            cursor = try scanner.plainString()
                        } else {
                            cursorUnreadable = true
                            try scanner.skipValue(depth: 2)
                        }
                    } else {
                        try scanner.skipValue(depth: 2)
                    }
                }
            } else {
                try scanner.skipValue(depth: 1)
            }
        }
        skipWhitespace()
        guard i == bytes.count, sawPagination, let hasNext else { throw GiveUp() }
        guard hasNext else { return UsagePage(hours: hours, next: nil) }
        guard !cursorUnreadable, let cursor, !cursor.isEmpty else { throw GiveUp() }
        return UsagePage(hours: hours, next: cursor)
    }

    mutating func usageHour(centsShift: Int, currency: String) throws(GiveUp) -> UsageHour {
        var hour = UsageHour(
            hourStart: -1, currency: currency, paasTotal: .zero, cpu: .zero, memory: .zero, storage: .zero,
            gpu: .zero, byocTotal: .zero, byocVCPU: .zero, byocMemory: .zero, byocGPUMemory: .zero,
            byocCluster: .zero)
        var sawPaas = false
        var sawByoc = false
        try object { (scanner: inout ByteScanner, key: UnsafeBufferPointer<UInt8>) throws(GiveUp) in
            if Self.equals(key, "timestamp") {
                guard hour.hourStart < 0 else { throw GiveUp() }
                let t = try scanner.timestamp()
                guard t % 3600 == 0 else { throw GiveUp() }
                hour.hourStart = t
            } else if Self.equals(key, "paasUsage") {
                guard !sawPaas else { throw GiveUp() }
                sawPaas = true
                try scanner.price(depth: 3) { key, amount in
                    if Self.equals(key, "total") {
                        hour.paasTotal = amount.shifted(by: centsShift)
                        return 0
                    }
                    if Self.equals(key, "cpu") {
                        hour.cpu = amount.shifted(by: centsShift)
                        return 1
                    }
                    if Self.equals(key, "memory") {
                        hour.memory = amount.shifted(by: centsShift)
                        return 2
                    }
                    if Self.equals(key, "storage") {
                        hour.storage = amount.shifted(by: centsShift)
                        return 3
                    }
                    if Self.equals(key, "gpu") {
                        hour.gpu = amount.shifted(by: centsShift)
                        return 4
                    }
                    return nil
                }
            } else if Self.equals(key, "byocUsage") {
                guard !sawByoc else { throw GiveUp() }
                sawByoc = true
                try scanner.price(depth: 3) { key, amount in
                    if Self.equals(key, "total") {
                        hour.byocTotal = amount.shifted(by: centsShift)
                        return 0
                    }
                    if Self.equals(key, "vcpu") {
                        hour.byocVCPU = amount.shifted(by: centsShift)
                        return 1
                    }
                    if Self.equals(key, "memory") {
                        hour.byocMemory = amount.shifted(by: centsShift)
                        return 2
                    }
                    if Self.equals(key, "gpuMemory") {
                        hour.byocGPUMemory = amount.shifted(by: centsShift)
                        return 3
                    }
                    if Self.equals(key, "cluster") {
                        hour.byocCluster = amount.shifted(by: centsShift)
                        return 4
                    }
                    return nil
                }
            } else {
                try scanner.skipValue(depth: 3)
            }
        }
        guard hour.hourStart >= 0 else { throw GiveUp() }
        return hour
    }

    /// `{"price": {"total": n, ...}, ...}`: every member of `price` must be a plain number;
    /// `amount` stores a known one and returns its bit (a name read twice gives up), or nil
    /// for a member the general decoder ignores too. Other members of the group are skipped.
    mutating func price(depth: Int, _ amount: (UnsafeBufferPointer<UInt8>, ExactDecimal) -> Int?) throws(GiveUp) {
        var sawPrice = false
        try object { (scanner: inout ByteScanner, key: UnsafeBufferPointer<UInt8>) throws(GiveUp) in
            guard Self.equals(key, "price") else { return try scanner.skipValue(depth: depth + 1) }
            guard !sawPrice else { throw GiveUp() }
            sawPrice = true
            var seen = Seen()
            try scanner.object { (scanner: inout ByteScanner, key: UnsafeBufferPointer<UInt8>) throws(GiveUp) in
                if let bit = amount(key, try scanner.number()) { try seen.first(UInt32(bit)) }
            }
        }
    }
}

/// RFC 4180 CSV with CRLF line ends, built in memory.
///
/// Text cells that a spreadsheet would run as a formula (leading `=`, `+`, `-`, `@`, tab,
/// CR) get a leading `'`; generated numeric cells go through ``number(_:)`` and never do.
/// A NUL character is written as U+FFFD.
public struct CSVWriter {
    public private(set) var bytes: [UInt8] = []
    var rowStarted = false
    public private(set) var rows = 0

    public init(header: [String], bom: Bool) {
        if bom { bytes.append(contentsOf: [0xEF, 0xBB, 0xBF]) }
        for name in header { number(name) }
        endRow()
        rows = 0
    }

    mutating func separator() {
        if rowStarted { bytes.append(UInt8(ascii: ",")) }
        rowStarted = true
    }

    /// A cell from outside (provider text, ids): guarded and quoted as needed.
    public mutating func text(_ value: String) {
        var value = value
        value.withUTF8 { text(utf8: $0) }
    }

    /// ``text(_:)`` for UTF-8 bytes straight from the store.
    public mutating func text(utf8 value: UnsafeBufferPointer<UInt8>) {
        separator()
        var needsQuotes = false
        var hasNUL = false
        for b in value {
            if Self.needsQuoting(b) { needsQuotes = true }
            if b == 0 { hasNUL = true }
        }
        let guarded: Bool
        switch value.first {
        case UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D: guarded = true
        default: guarded = false
        }
        if needsQuotes { bytes.append(0x22) }
        if guarded { bytes.append(UInt8(ascii: "'")) }
        if !needsQuotes && !hasNUL {
            bytes.append(contentsOf: value)
            return
        }
        for b in value {
            if b == 0x22 { bytes.append(0x22) }
            if b == 0 {
                // A NUL stops many CSV readers; the store keeps it, the file shows U+FFFD.
                bytes.append(contentsOf: [0xEF, 0xBF, 0xBD])
                continue
            }
            bytes.append(b)
        }
        if needsQuotes { bytes.append(0x22) }
    }

    static func needsQuoting(_ b: UInt8) -> Bool {
        b == 0x2C || b == 0x22 || b == 0x0A || b == 0x0D
    }

    /// A cell billsync generated (amounts, dates, counts): written as is.
    public mutating func number(_ value: String) {
        separator()
        bytes.append(contentsOf: value.utf8)
    }

    /// Generated cells (no quoting, no guard) written straight into the buffer by `write`,
    /// which gets room for `capacity` bytes and returns how many it wrote; cells after the first
    /// bring their own separating comma.
    public mutating func numbers(capacity: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Int) {
        separator()
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { scratch in
            let written = write(scratch.baseAddress!)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[0..<written]))
        }
    }

    /// ``number(_:)`` for bytes straight from the store.
    public mutating func number(utf8 value: UnsafeBufferPointer<UInt8>) {
        separator()
        bytes.append(contentsOf: value)
    }

    /// Hands over the bytes so far and starts an empty buffer (the row count goes on).
    public mutating func take() -> [UInt8] {
        defer { bytes.removeAll(keepingCapacity: true) }
        return bytes
    }

    public mutating func endRow() {
        bytes.append(0x0D)
        bytes.append(0x0A)
        rowStarted = false
        rows += 1
    }
}

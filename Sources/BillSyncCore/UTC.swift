/// Calendar arithmetic on unix seconds in UTC, without Foundation's locale-dependent formatters.
public enum UTC {
    public struct Civil: Sendable, Equatable {
        public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
    public static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    public static func civil(_ unix: Int64) -> Civil {
        let days = unix >= 0 ? unix / 86400 : (unix - 86399) / 86400
        let secs = Int(unix - days * 86400)
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        let y = Int(yoe + era * 400) + (m <= 2 ? 1 : 0)
        return Civil(year: y, month: m, day: d, hour: secs / 3600, minute: secs / 60 % 60, second: secs % 60)
    }

    public static func unix(_ c: Civil) -> Int64 {
        days(year: c.year, month: c.month, day: c.day) * 86400 + Int64(c.hour * 3600 + c.minute * 60 + c.second)
    }

    /// Writes `YYYY-MM-DD`, then `sep` + `HH:MM:SS` when `sep` is given, then `suffix`:
    /// one fixed buffer, no intermediate strings (exports format millions of these).
    static func format(_ unix: Int64, sep: UInt8?, suffix: UInt8?) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { b in
            let n = write(unix, sep: sep, suffix: suffix, into: b.baseAddress!)
            return String(decoding: UnsafeBufferPointer(rebasing: b[0..<n]), as: UTF8.self)
        }
    }

    /// ``format(_:sep:suffix:)`` into `b` (room for 21 bytes); returns the length.
    static func write(_ unix: Int64, sep: UInt8?, suffix: UInt8?, into b: UnsafeMutablePointer<UInt8>) -> Int {
        let c = civil(unix)
        var i = 0
        func put(_ v: Int, _ width: Int) {
            var v = v
            var k = width - 1
            while k >= 0 {
                b[i + k] = UInt8(48 + v % 10)
                v /= 10
                k -= 1
            }
            i += width
        }
        func mark(_ ch: UInt8) {
            b[i] = ch
            i += 1
        }
        put(max(0, min(c.year, 9999)), 4)
        mark(45)
        put(c.month, 2)
        mark(45)
        put(c.day, 2)
        if let sep {
            mark(sep)
            put(c.hour, 2)
            mark(58)
            put(c.minute, 2)
            mark(58)
            put(c.second, 2)
        }
        if let suffix { mark(suffix) }
        return i
    }

    /// ``dateTime(_:)`` into `b` (room for 19 bytes), without making a String; returns the length.
    public static func writeDateTime(_ unix: Int64, into b: UnsafeMutablePointer<UInt8>) -> Int {
        write(unix, sep: UInt8(ascii: " "), suffix: nil, into: b)
    }

    static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// `2025-03-01`
    public static func date(_ unix: Int64) -> String { format(unix, sep: nil, suffix: nil) }

    /// `2025-03-01 13:00:00`
    public static func dateTime(_ unix: Int64) -> String { format(unix, sep: UInt8(ascii: " "), suffix: nil) }

    /// `2025-03-01T13:00:00Z`
    public static func iso8601(_ unix: Int64) -> String {
        format(unix, sep: UInt8(ascii: "T"), suffix: UInt8(ascii: "Z"))
    }

    /// `2025-03` — the month file a given instant belongs to.
    public static func month(_ unix: Int64) -> String {
        let c = civil(unix)
        return "\(pad(c.year, 4))-\(pad(c.month, 2))"
    }

    /// The UTC month holding `unix`, as `[start, end)`.
    public static func monthContaining(_ unix: Int64) -> (start: Int64, end: Int64) {
        let c = civil(unix)
        let start = days(year: c.year, month: c.month, day: 1) * 86400
        let end =
            c.month == 12
            ? days(year: c.year + 1, month: 1, day: 1) * 86400 : days(year: c.year, month: c.month + 1, day: 1) * 86400
        return (start, end)
    }

    public static func startOfDay(_ unix: Int64) -> Int64 {
        (unix >= 0 ? unix / 86400 : (unix - 86399) / 86400) * 86400
    }

    public static func startOfHour(_ unix: Int64) -> Int64 {
        (unix >= 0 ? unix / 3600 : (unix - 3599) / 3600) * 3600
    }

    /// Parses `2025-03-01`, `2025-03-01T00:00:00Z`, `2025-03-01T00:00:00.000Z`,
    /// `2025-03-01 00:00:00` and `…+02:00` offsets; nil when it is none of these.
    public static func parse(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for i in from..<from + count {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        guard b.count >= 10, let y = num(0, 4), b[4] == 45, let mo = num(5, 2), b[7] == 45, let d = num(8, 2),
            (1...12).contains(mo), (1...31).contains(d)
        else { return nil }
        var c = Civil(year: y, month: mo, day: d, hour: 0, minute: 0, second: 0)
        if b.count == 10 { return unix(c) }
        guard b.count >= 19, b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: " "),
            let h = num(11, 2), b[13] == 58, let mi = num(14, 2), b[16] == 58, let s = num(17, 2),
            h < 24, mi < 60, s < 61
        else { return nil }
        c.hour = h
        c.minute = mi
        c.second = s
        var i = 19
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            while i < b.count, b[i] >= 48 && b[i] <= 57 { i += 1 }
        }
        var offset: Int64 = 0
        if i == b.count || (b[i] == UInt8(ascii: "Z") && i + 1 == b.count) {
            // UTC
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), i + 6 == b.count,
            let oh = num(i + 1, 2), b[i + 3] == 58, let om = num(i + 4, 2)
        {
            offset = Int64(oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
        } else {
            return nil
        }
        return unix(c) - offset
    }
}

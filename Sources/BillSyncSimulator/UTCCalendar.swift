import Glibc

/// Proleptic Gregorian arithmetic on unix seconds, in UTC only, so that generated
/// periods never depend on the host's time zone or locale.
enum UTCCalendar {
    static let secondsPerHour: Int64 = 3_600
    static let secondsPerDay: Int64 = 86_400
    static let secondsPerWeek: Int64 = 7 * 86_400

    /// Floor division (rounds towards negative infinity).
    static func floorDiv(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    static func floor(_ value: Int64, to step: Int64) -> Int64 {
        floorDiv(value, step) * step
    }

    static func ceil(_ value: Int64, to step: Int64) -> Int64 {
        -floor(-value, to: step)
    }

    /// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yearOfEra = y - era * 400
        let shiftedMonth = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Months counted from year 0: `year * 12 + (month - 1)`.
    static func monthIndex(containing instant: Int64) -> Int64 {
        let date = civil(days: floorDiv(instant, secondsPerDay))
        return date.year * 12 + date.month - 1
    }

    static func start(ofMonth index: Int64) -> Int64 {
        days(year: floorDiv(index, 12), month: index - floorDiv(index, 12) * 12 + 1, day: 1) * secondsPerDay
    }

    /// `YYYYMM` of a month index, as in Northflank invoice ids.
    static func yearMonth(ofMonth index: Int64) -> String {
        let year = floorDiv(index, 12)
        return pad(year, 4) + pad(index - year * 12 + 1, 2)
    }

    /// The month index of a `YYYYMM` text.
    static func monthIndex(yearMonth text: Substring) -> Int64? {
        guard text.count == 6, text.allSatisfy(\.isASCII), let number = Int64(text) else { return nil }
        let month = number % 100
        guard (1...12).contains(month) else { return nil }
        return (number / 100) * 12 + month - 1
    }

    /// The most recent Monday 00:00 UTC at or before `instant`.
    static func lastMonday(atOrBefore instant: Int64) -> Int64 {
        let day = floorDiv(instant, secondsPerDay)
        let daysSinceMonday = day + 3 - floorDiv(day + 3, 7) * 7  // 1970-01-01 was a Thursday
        return (day - daysSinceMonday) * secondsPerDay
    }

    /// `2025-03-01T00:00:00.000Z`
    static func iso8601Milliseconds(_ instant: Int64) -> String {
        let parts = components(instant)
        return "\(pad(parts.year, 4))-\(pad(parts.month, 2))-\(pad(parts.day, 2))T"
            + "\(pad(parts.hour, 2)):\(pad(parts.minute, 2)):\(pad(parts.second, 2)).000Z"
    }

    /// `2025-01-31 23:59:59`
    static func dateTime(_ instant: Int64) -> String {
        let parts = components(instant)
        return "\(pad(parts.year, 4))-\(pad(parts.month, 2))-\(pad(parts.day, 2)) "
            + "\(pad(parts.hour, 2)):\(pad(parts.minute, 2)):\(pad(parts.second, 2))"
    }

    /// IMF-fixdate, as `Retry-After` carries it: `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func httpDate(_ instant: Int64) -> String {
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let day = floorDiv(instant, secondsPerDay)
        let parts = components(instant)
        return "\(weekdays[Int(day + 4 - floorDiv(day + 4, 7) * 7)]), \(pad(parts.day, 2)) "
            + "\(months[Int(parts.month - 1)]) \(pad(parts.year, 4)) "
            + "\(pad(parts.hour, 2)):\(pad(parts.minute, 2)):\(pad(parts.second, 2)) GMT"
    }

    /// Unix seconds (`1793491200`) or a UTC instant (`2026-11-01T00:00:00Z`,
    /// `2026-11-01T00:00:00.000Z`, `2026-11-01`).
    static func parseInstant(_ text: String) -> Int64? {
        if let seconds = Int64(text) {
            return seconds
        }
        let chars = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= chars.count else { return nil }
            var value: Int64 = 0
            for char in chars[from..<from + count] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(char) else { return nil }
                value = value * 10 + Int64(char - UInt8(ascii: "0"))
            }
            return value
        }
        func char(_ at: Int) -> UInt8? { at < chars.count ? chars[at] : nil }
        guard let year = number(0, 4), char(4) == UInt8(ascii: "-"), let month = number(5, 2),
            char(7) == UInt8(ascii: "-"), let day = number(8, 2),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        let midnight = days(year: year, month: month, day: day) * secondsPerDay
        if chars.count == 10 {
            return midnight
        }
        guard char(10) == UInt8(ascii: "T") || char(10) == UInt8(ascii: " "),
            let hour = number(11, 2), char(13) == UInt8(ascii: ":"), let minute = number(14, 2),
            char(16) == UInt8(ascii: ":"), let second = number(17, 2),
            hour < 24, minute < 60, second < 60
        else { return nil }
        var rest = chars[19...]
        if rest.first == UInt8(ascii: ".") {
            rest = rest.dropFirst().drop { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        }
        guard ["Z", "+00:00", "+0000"].contains(String(decoding: rest, as: UTF8.self)) else { return nil }
        return midnight + hour * secondsPerHour + minute * 60 + second
    }

    /// Wall-clock unix seconds.
    static func currentTime() -> Int64 {
        Int64(time(nil))
    }

    private static func components(_ instant: Int64)
        -> (year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64)
    {
        let date = civil(days: floorDiv(instant, secondsPerDay))
        let secondOfDay = instant - floorDiv(instant, secondsPerDay) * secondsPerDay
        return (date.year, date.month, date.day, secondOfDay / 3_600, secondOfDay / 60 % 60, secondOfDay % 60)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}

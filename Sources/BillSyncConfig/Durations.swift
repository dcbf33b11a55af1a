/// Parses the config's small value languages: durations and rate limits.
public enum ValueSyntax {
    /// `"500ms"`, `"90s"`, `"15m"`, `"1h"`, `"2d"` → seconds.
    public static func duration(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            guard !number.isEmpty, number.allSatisfy(\.isASCII), number.allSatisfy(\.isNumber),
                let value = Int(number)
            else { continue }
            return Double(value) * factor
        }
        return nil
    }

    /// `"30/1m"`, `"1000/1h"`, `"5/s"` → limit.
    public static func rateLimit(_ text: String) -> RateLimitSetting? {
        if text == "none" { return .unlimited }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Int(parts[0]), count > 0 else { return nil }
        let periodText = String(parts[1])
        let period = duration(periodText) ?? duration("1" + periodText)
        guard let period, period > 0 else { return nil }
        return .limited(requests: count, period: period)
    }
}

public enum RateLimitSetting: Sendable, Equatable {
    case unlimited
    case limited(requests: Int, period: Double)
}

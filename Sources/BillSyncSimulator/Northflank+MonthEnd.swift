import Synchronization

/// The month-end options of the Northflank simulation (`SimulatorOptions.invoicesFromUsage`,
/// `invoiceOffsets`, `missingHours`, `spikes`): invoices that bill exactly their usage hours,
/// one invoice that disagrees by a known amount, hours the usage endpoint never serves, and
/// hours of unusual usage. With none of them set, everything is served as without them.
extension NorthflankAPI {
    /// The options, prepared once per simulator for constant-time lookups.
    struct MonthEnd: Sendable {
        /// Invoice id → units added to its PaaS cpu, at the scale invoices carry.
        let offsets: [String: Int64]
        /// Account index → hidden hour ranges, sorted and merged.
        let hidden: [Int: [Range<Int64>]]
        /// Account index → hour start → factor.
        let spikes: [Int: [Int64: Int64]]
        /// Usage sums of invoices billed from usage.
        let sums = UsageSums()

        init(_ options: SimulatorOptions) {
            if let problem = options.problem {
                preconditionFailure("invalid SimulatorOptions: \(problem)")
            }
            let scale = options.invoicesFromUsage ? NorthflankAPI.usageScale(options) : NorthflankAPI.invoiceScale
            offsets = options.invoiceOffsets.compactMapValues { try? NorthflankAPI.cents($0, scale: scale) }
            var ranges: [Int: [Range<Int64>]] = [:]
            for hours in options.missingHours {
                guard let account = Account.named(hours.account) else { continue }
                ranges[account.index, default: []].append(
                    hours.start..<hours.start + Int64(hours.count) * UTCCalendar.secondsPerHour)
            }
            hidden = ranges.mapValues(Self.merged)
            var factors: [Int: [Int64: Int64]] = [:]
            for spike in options.spikes {
                guard let account = Account.named(spike.account) else { continue }
                factors[account.index, default: [:]][spike.hour] = spike.factor
            }
            spikes = factors
        }

        private static func merged(_ ranges: [Range<Int64>]) -> [Range<Int64>] {
            var merged: [Range<Int64>] = []
            for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
                if let last = merged.last, range.lowerBound <= last.upperBound {
                    merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
                } else {
                    merged.append(range)
                }
            }
            return merged
        }
    }

    /// The price components of one invoice and the scale they are in (10^-scale cent).
    struct Charges: Sendable {
        var paas = PaaSPrice()
        var byoc = BYOCPrice()
        var scale: Int
    }

    /// The usage the provider metered in `hour`: as generated, times the hour's spike factor.
    func usage(_ account: Account, hour: Int64) -> UsageHour {
        let generated = generatedUsage(account, hour: hour)
        guard !monthEnd.spikes.isEmpty, let factor = monthEnd.spikes[account.index]?[hour] else { return generated }
        return UsageHour(
            timestamp: hour, paas: generated.paas.multiplied(by: factor), byoc: generated.byoc.multiplied(by: factor))
    }

    /// The first hour start at or after `hour` that the usage endpoint serves: `hour` itself
    /// unless it is one of the account's missing hours.
    func servedHour(_ account: Account, atOrAfter hour: Int64) -> Int64 {
        guard !monthEnd.hidden.isEmpty, let ranges = monthEnd.hidden[account.index] else { return hour }
        var served = hour
        for range in ranges {
            if range.lowerBound > served { break }
            if served < range.upperBound { served = range.upperBound }
        }
        return served
    }

    /// Exactly the usage of every hour of `period` within `available`, served or hidden,
    /// spikes included, at usage scale.
    func billedUsage(_ account: Account, period: Range<Int64>, available: Range<Int64>) -> Charges {
        let first = max(period.lowerBound, available.lowerBound)
        let end = max(first, min(period.upperBound, available.upperBound))
        let key = UsageSums.Key(account: account.index, first: first, end: end)
        if let cached = monthEnd.sums[key] { return cached }
        var charges = Charges(scale: usageScale)
        for hour in stride(from: first, to: end, by: Int(UTCCalendar.secondsPerHour)) {
            let usage = usage(account, hour: hour)
            charges.paas.add(usage.paas)
            charges.byoc.add(usage.byoc)
        }
        monthEnd.sums[key] = charges
        return charges
    }

    /// A decimal number of cents (`12.5`, `-0.01`) as units of 10^-scale cent.
    static func cents(_ text: String, scale: Int) throws(SimulatorOptionError) -> Int64 {
        var body = Substring(text)
        let negative = body.first == "-"
        if negative || body.first == "+" { body = body.dropFirst() }
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let isDigit = { (character: Character) in ("0"..."9").contains(character) }
        guard !parts[0].isEmpty, parts[0].allSatisfy(isDigit),
            parts.count == 1 || (!parts[1].isEmpty && parts[1].allSatisfy(isDigit))
        else { throw SimulatorOptionError("'\(text)' is not a decimal number of cents such as 12.5 or -0.01") }
        var fraction = parts.count == 2 ? parts[1] : ""
        while fraction.last == "0" { fraction.removeLast() }
        guard fraction.count <= scale else {
            throw SimulatorOptionError("'\(text)' has more than \(scale) fractional cent digits")
        }
        guard parts[0].count <= 12, let whole = Int64(parts[0]) else {
            throw SimulatorOptionError("'\(text)' is not below 10^12 cents")
        }
        var units = whole
        for _ in 0..<scale { units *= 10 }
        let padded = fraction + String(repeating: "0", count: scale - fraction.count)
        units += padded.isEmpty ? 0 : Int64(padded)!
        return negative ? -units : units
    }

    static func centsProblem(_ text: String, scale: Int) -> String? {
        do {
            _ = try cents(text, scale: scale)
            return nil
        } catch {
            return error.message
        }
    }
}

/// Usage sums by account and hour range, so that a month is added up once. Thread-safe.
final class UsageSums: Sendable {
    struct Key: Hashable, Sendable {
        let account: Int
        let first: Int64
        let end: Int64
    }

    /// With the real clock, the current month's range grows every hour: forget everything now and then.
    private static let capacity = 100_000
    private let sums = Mutex<[Key: NorthflankAPI.Charges]>([:])

    subscript(key: Key) -> NorthflankAPI.Charges? {
        get { sums.withLock { $0[key] } }
        set {
            sums.withLock { sums in
                if sums.count >= Self.capacity { sums.removeAll() }
                sums[key] = newValue
            }
        }
    }
}

extension NorthflankAPI.PaaSPrice {
    mutating func add(_ other: Self) {
        cpu += other.cpu
        memory += other.memory
        storage += other.storage
        gpu += other.gpu
    }

    func multiplied(by factor: Int64) -> Self {
        Self(cpu: cpu * factor, memory: memory * factor, storage: storage * factor, gpu: gpu * factor)
    }
}

extension NorthflankAPI.BYOCPrice {
    mutating func add(_ other: Self) {
        vcpu += other.vcpu
        memory += other.memory
        gpuMemory += other.gpuMemory
        cluster += other.cluster
    }

    func multiplied(by factor: Int64) -> Self {
        Self(vcpu: vcpu * factor, memory: memory * factor, gpuMemory: gpuMemory * factor, cluster: cluster * factor)
    }
}

extension NorthflankAPI.Account {
    /// `org` or `team-N` for any N from 1, whatever `teams` says.
    static func named(_ name: String) -> Self? {
        if name == "org" { return Self(index: 0) }
        guard name.hasPrefix("team-"), let number = Int(name.dropFirst(5)), number >= 1, name == "team-\(number)"
        else { return nil }
        return Self(index: number)
    }

    /// The account of an invoice id such as `nfinv_team-1_202609`.
    static func named(invoiceID id: String) -> Self? {
        guard id.hasPrefix("nfinv_") else { return nil }
        let rest = id.dropFirst(6)
        guard let separator = rest.lastIndex(of: "_"),
            UTCCalendar.monthIndex(yearMonth: rest[rest.index(after: separator)...]) != nil
        else { return nil }
        return named(String(rest[..<separator]))
    }

    func exists(teams: Int) -> Bool {
        index <= teams
    }
}

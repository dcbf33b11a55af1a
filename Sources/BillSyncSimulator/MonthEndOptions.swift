/// Northflank usage hours the usage endpoint never serves: `count` whole hours of `account`
/// from the hour starting at `start`. The provider still billed them (see
/// `SimulatorOptions.invoicesFromUsage`); only the store never receives them.
public struct NorthflankMissingHours: Sendable, Equatable {
    /// `org` or `team-N`.
    public var account: String
    /// Unix seconds of the first hidden hour's start; a whole hour.
    public var start: Int64
    public var count: Int

    public init(account: String, start: Int64, count: Int) {
        self.account = account
        self.start = start
        self.count = count
    }

    /// Parses `ACCOUNT:START:COUNT` as `--northflank-missing-hours` takes it, START as `--now`
    /// takes an instant (`team-1:2026-09-10T00:00:00Z:3`, `org:1788998400:24`).
    public init(parsing text: String) throws(SimulatorOptionError) {
        let (account, instant, last) = try Self.split(text, "ACCOUNT:START:COUNT")
        guard let count = Int(last), count >= 1, count <= Self.maxCount else {
            throw SimulatorOptionError(
                "COUNT must be a whole number of hours from 1 to \(Self.maxCount), not '\(last)'")
        }
        self.init(account: account, start: instant, count: count)
    }

    /// A century of hours.
    static let maxCount = 876_600

    /// `ACCOUNT`, the instant in the middle (which may hold colons itself) and the text after the last colon.
    static func split(_ text: String, _ shape: String) throws(SimulatorOptionError) -> (String, Int64, String) {
        guard let first = text.firstIndex(of: ":"), let last = text.lastIndex(of: ":"), first < last else {
            throw SimulatorOptionError("expected \(shape), not '\(text)'")
        }
        let account = String(text[..<first])
        let middle = String(text[text.index(after: first)..<last])
        guard !account.isEmpty else { throw SimulatorOptionError("ACCOUNT is empty in '\(text)'") }
        guard let instant = UTCCalendar.parseInstant(middle) else {
            throw SimulatorOptionError(
                "'\(middle)' is not unix seconds or a UTC instant such as 2026-09-10T00:00:00Z")
        }
        guard UTCCalendar.floor(instant, to: UTCCalendar.secondsPerHour) == instant else {
            throw SimulatorOptionError("'\(middle)' is not a whole hour")
        }
        return (account, instant, String(text[text.index(after: last)...]))
    }
}

/// One Northflank usage hour of `account` with every component multiplied by `factor`, as
/// served, in the ground truth and in invoices billed from usage. An hour of zero usage stays zero.
public struct NorthflankSpike: Sendable, Equatable {
    /// `org` or `team-N`.
    public var account: String
    /// Unix seconds of the hour's start; a whole hour.
    public var hour: Int64
    /// From 1 to `maxFactor`.
    public var factor: Int64

    public init(account: String, hour: Int64, factor: Int64) {
        self.account = account
        self.hour = hour
        self.factor = factor
    }

    /// Parses `ACCOUNT:HOUR:FACTOR` as `--northflank-spike` takes it, HOUR as `--now` takes an
    /// instant (`team-1:2026-10-15T12:00:00Z:10`).
    public init(parsing text: String) throws(SimulatorOptionError) {
        let (account, hour, last) = try NorthflankMissingHours.split(text, "ACCOUNT:HOUR:FACTOR")
        guard let factor = Int64(last), factor >= 1, factor <= Self.maxFactor else {
            throw SimulatorOptionError("FACTOR must be a whole number from 1 to \(Self.maxFactor), not '\(last)'")
        }
        self.init(account: account, hour: hour, factor: factor)
    }

    /// Keeps every multiplied amount, and a month of them, far inside `Int64`.
    public static let maxFactor: Int64 = 1_000_000
}

/// Why an option's value cannot be used.
public struct SimulatorOptionError: Error, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

extension SimulatorOptions {
    /// Why these options cannot be served (an offset that is not a decimal of cents, or has
    /// more fractional digits than the invoices carry; an account beyond `teams`; an hour that
    /// is not whole), or `nil` when they can. `Simulator(options:)` traps on a problem.
    public var problem: String? {
        let northflank = NorthflankAPI.Account.self
        for (id, cents) in invoiceOffsets.sorted(by: { $0.key < $1.key }) {
            guard let account = northflank.named(invoiceID: id), account.exists(teams: teams) else {
                return "--northflank-invoice-offset: '\(id)' is not the id of a Northflank invoice of "
                    + Self.accounts(teams: teams) + ", such as nfinv_org_202609"
            }
            let scale = invoicesFromUsage ? NorthflankAPI.usageScale(self) : NorthflankAPI.invoiceScale
            if let problem = NorthflankAPI.centsProblem(cents, scale: scale) {
                let finer =
                    !invoicesFromUsage
                    && NorthflankAPI.centsProblem(cents, scale: NorthflankAPI.usageScale(self)) == nil
                return "--northflank-invoice-offset \(id)=\(cents): \(problem)"
                    + (finer ? " (\(NorthflankAPI.usageScale(self)) with --northflank-invoices-from-usage)" : "")
            }
        }
        for hours in missingHours {
            if let problem = Self.problem(account: hours.account, hour: hours.start, teams: teams) {
                return "--northflank-missing-hours: \(problem)"
            }
            guard (1...NorthflankMissingHours.maxCount).contains(hours.count) else {
                return "--northflank-missing-hours: COUNT must be from 1 to \(NorthflankMissingHours.maxCount)"
            }
            guard hours.start <= Int64.max - Int64(hours.count) * UTCCalendar.secondsPerHour else {
                return "--northflank-missing-hours: \(hours.start) is too far in the future"
            }
        }
        var spiked: Set<String> = []
        for spike in spikes {
            guard spiked.insert("\(spike.account)@\(spike.hour)").inserted else {
                return "--northflank-spike: \(spike.account) hour \(spike.hour) is spiked twice"
            }
            if let problem = Self.problem(account: spike.account, hour: spike.hour, teams: teams) {
                return "--northflank-spike: \(problem)"
            }
            guard (1...NorthflankSpike.maxFactor).contains(spike.factor) else {
                return "--northflank-spike: FACTOR must be from 1 to \(NorthflankSpike.maxFactor)"
            }
        }
        return nil
    }

    private static func accounts(teams: Int) -> String {
        switch teams {
        case 0: "org"
        case 1: "org or team-1"
        default: "org or team-1...team-\(teams)"
        }
    }

    private static func problem(account: String, hour: Int64, teams: Int) -> String? {
        guard let found = NorthflankAPI.Account.named(account), found.exists(teams: teams) else {
            return "no Northflank account '\(account)': use " + accounts(teams: teams) + " (see --teams)"
        }
        guard UTCCalendar.floor(hour, to: UTCCalendar.secondsPerHour) == hour else {
            return "\(hour) is not a whole hour"
        }
        return nil
    }
}

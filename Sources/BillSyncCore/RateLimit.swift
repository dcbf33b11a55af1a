/// "N requests per period", e.g. `30/1m`. Nil rate means no pacing.
public struct RateLimit: Sendable, Equatable, CustomStringConvertible {
    public var requests: Int
    public var period: Double

    public init(requests: Int, period: Double) {
        self.requests = requests
        self.period = period
    }

    public var description: String { "\(requests)/\(period)s" }
}

/// A config problem, with the file, the key and what is wrong: `check` prints exactly this.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let key: String?
    public let problem: String

    public init(file: String, key: String?, problem: String) {
        self.file = file
        self.key = key
        self.problem = problem
    }

    public var description: String {
        if let key { return "\(file): \(key): \(problem)" }
        return "\(file): \(problem)"
    }
}

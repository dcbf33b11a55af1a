import BillSyncCore
import BillSyncProviders

extension ConfigLoader {
    /// A source's month-end keys: `reconcile_tolerance`.
    static func parseMonthEnd(_ r: TableReader, into source: inout SourceConfig) throws(ConfigError) {
        if let v = try r.money("reconcile_tolerance") {
            guard !(v < .zero) else { throw r.bad("reconcile_tolerance", "must not be negative") }
            source.reconcileTolerance = v
        }
    }
}

extension TableReader {
    /// An exact amount, written as a string (`"0.01"`): a TOML float is binary and would not be exact.
    func money(_ key: String) throws(ConfigError) -> ExactDecimal? {
        guard let value = value(key) else { return nil }
        guard let text = value as? String else {
            throw bad(key, "write the amount as a string, e.g. \(key) = \"0.01\" (a TOML number is not exact)")
        }
        do {
            return try ExactDecimal(parsing: text)
        } catch {
            throw bad(key, "\"\(text)\" is not a decimal amount")
        }
    }
}

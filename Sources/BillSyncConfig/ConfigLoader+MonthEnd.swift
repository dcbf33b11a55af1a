import BillSyncCore
import BillSyncProviders
import TOMLKit

extension ConfigLoader {
    static let budgetKeys: Set<String> = ["name", "sources", "vendor", "monthly", "currency", "thresholds"]

    /// A source's month-end keys: `reconcile_tolerance`, `spike_factor`, `spike_min`.
    static func parseMonthEnd(_ r: TableReader, into source: inout SourceConfig) throws(ConfigError) {
        if let v = try r.money("reconcile_tolerance") {
            guard !(v < .zero) else { throw r.bad("reconcile_tolerance", "must not be negative") }
            source.reconcileTolerance = v
        }
        if let v = try r.ratio("spike_factor") {
            guard ExactDecimal(1) < v else { throw r.bad("spike_factor", "must be more than 1") }
            source.spikeFactor = v
        }
        if let v = try r.money("spike_min") {
            guard !(v < .zero) else { throw r.bad("spike_min", "must not be negative") }
            source.spikeMin = v
        }
    }

    /// `[[budgets]]`, once the sources are known.
    static func parseBudgets(_ reader: TableReader, into config: inout Config, path: String) throws(ConfigError) {
        guard let tables = try reader.tableArray("budgets") else { return }
        var names = Set<String>()
        for (index, table) in tables.enumerated() {
            let r = TableReader(table: table, file: path, prefix: "budgets[\(index)].")
            try r.rejectUnknown(budgetKeys)
            guard let name = try r.string("name"), !name.isEmpty else { throw r.missing("name") }
            guard names.insert(name).inserted else { throw r.bad("name", "duplicate budget name \"\(name)\"") }
            let listed = try r.stringArray("sources")
            let vendor = try r.string("vendor")
            guard (listed == nil) != (vendor == nil) else {
                throw r.bad("sources", "set one of sources = [...] and vendor = \"...\"")
            }
            var sources: [String] = []
            if let listed {
                guard !listed.isEmpty else { throw r.bad("sources", "must name at least one source") }
                for name in listed where config.source(named: name) == nil {
                    throw r.bad(
                        "sources",
                        "no source named \"\(name)\" (sources: \(config.sources.map(\.name).joined(separator: ", ")))")
                }
                sources = listed
            } else if let vendor {
                sources = config.sources.filter { $0.vendor == vendor }.map(\.name)
                guard !sources.isEmpty else {
                    throw r.bad(
                        "vendor",
                        "no source has vendor \"\(vendor)\" (vendors: "
                            + Set(config.sources.map(\.vendor)).sorted().joined(separator: ", ") + ")")
                }
            }
            guard let monthly = try r.money("monthly") else { throw r.missing("monthly") }
            guard ExactDecimal.zero < monthly else { throw r.bad("monthly", "must be more than 0") }
            guard let currency = try r.string("currency") else { throw r.missing("currency") }
            guard currency.count == 3, currency.allSatisfy({ $0.isASCII && $0.isLetter }) else {
                throw r.bad("currency", "expected a three-letter currency code such as \"USD\", not \"\(currency)\"")
            }
            var thresholds = [ExactDecimal(1)]
            if let values = try r.ratios("thresholds") {
                guard !values.isEmpty else { throw r.bad("thresholds", "must list at least one fraction") }
                for v in values where !(ExactDecimal.zero < v) {
                    throw r.bad("thresholds", "fractions of the budget must be more than 0, not \(v)")
                }
                thresholds = Array(Set(values)).sorted()
            }
            config.budgets.append(
                BudgetConfig(
                    name: name, sources: sources, vendor: vendor, monthly: monthly, currency: currency.uppercased(),
                    thresholds: thresholds))
        }
    }
}

extension TableReader {
    /// An exact amount, written as a string (`"0.01"`): a TOML float is binary and would not be exact.
    func money(_ key: String) throws(ConfigError) -> ExactDecimal? {
        guard let value = value(key) else { return nil }
        guard let text = value.string else {
            throw bad(key, "write the amount as a string, e.g. \(key) = \"0.01\" (a TOML number is not exact)")
        }
        do {
            return try ExactDecimal(parsing: text)
        } catch {
            throw bad(key, "\"\(text)\" is not a decimal amount")
        }
    }

    /// A ratio: an integer, a float (as TOML writes it: `0.8`) or a decimal string.
    func ratio(_ key: String) throws(ConfigError) -> ExactDecimal? {
        guard let value = value(key) else { return nil }
        guard let r = Self.ratio(value) else { throw bad(key, "expected a number such as 3 or 2.5, found \(value)") }
        return r
    }

    func ratios(_ key: String) throws(ConfigError) -> [ExactDecimal]? {
        guard let value = value(key) else { return nil }
        guard let array = value.array else { throw bad(key, "expected an array of numbers such as [0.8, 1.0]") }
        var out: [ExactDecimal] = []
        for item in array {
            guard let r = Self.ratio(item) else { throw bad(key, "expected an array of numbers such as [0.8, 1.0]") }
            out.append(r)
        }
        return out
    }

    static func ratio(_ value: any TOMLValueConvertible) -> ExactDecimal? {
        if let i = value.int { return ExactDecimal(i) }
        if let d = value.double, d.isFinite { return try? ExactDecimal(parsing: "\(d)") }
        if let s = value.string { return try? ExactDecimal(parsing: s) }
        return nil
    }
}

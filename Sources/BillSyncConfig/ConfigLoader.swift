import BillSyncCore
import BillSyncExport
import BillSyncProviders
import Foundation
import TOMLKit

/// Reads and validates `billsync.toml`. Every problem names the file and the key.
public enum ConfigLoader {
    static let topKeys: Set<String> = [
        "state_dir", "export_dir", "poll_interval", "log_format", "log_level", "log_file", "metrics_file", "http",
        "exports", "budgets", "alert_webhook_url_file",
        "csv_bom",
        "accounting", "sources", "request_timeout", "connect_timeout", "retry_max_attempts",
        "retry_base_delay", "retry_max_delay", "max_response_bytes", "max_rate_limit_wait",
    ]
    static let accountingKeys: Set<String> = [
        "payable_account", "expense_account", "payment_account", "prepaid_account", "accrued_account",
        "operating_currencies",
    ]
    static let sourceKeys: Set<String> = [
        "name", "provider", "api_key_file", "api_key_env", "api_key", "base_url", "team", "usage_start",
        "usage_lookback", "money_unit", "currency", "poll_interval", "rate_limit", "vendor", "webhook_secret_file",
        "webhook_secret_env", "webhook_secret_previous_file", "webhook_secret_header", "webhook_min_interval",
        "reconcile_tolerance", "spike_factor", "spike_min",
    ]

    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ConfigError) -> Config
    {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw ConfigError(
                file: path, key: nil, problem: exists ? "cannot read the file (permissions?)" : "file does not exist")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, key: nil, problem: "not UTF-8 text")
        }
        var config = try parse(text, path: path, environment: environment)
        if config.sources.contains(where: { if case .inline = $0.key { true } else { false } }),
            let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int,
            mode & 0o077 != 0
        {
            config.warnings.append(
                "\(path) holds an inline api_key and is readable by group or others (mode \(String(mode, radix: 8))); chmod 600 it or use api_key_file"
            )
        }
        return config
    }

    public static func parse(_ text: String, path: String, environment: [String: String] = [:]) throws(ConfigError)
        -> Config
    {
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw ConfigError(
                file: path, key: nil,
                problem:
                    "TOML syntax error at line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)"
            )
        } catch {
            throw ConfigError(file: path, key: nil, problem: "TOML syntax error: \(error)")
        }
        let reader = TableReader(table: table, file: path, prefix: "")
        try reader.rejectUnknown(topKeys)
        guard let stateDir = try reader.string("state_dir") else { throw reader.missing("state_dir") }
        var config = Config(
            path: path, stateDir: stateDir, exportDir: try reader.string("export_dir") ?? stateDir + "/exports")
        if let v = try reader.duration("poll_interval") { config.pollInterval = v }
        if let v = try reader.string("log_format") {
            guard let format = LogFormat(rawValue: v) else {
                throw reader.bad("log_format", "must be \"logfmt\" or \"json\", not \"\(v)\"")
            }
            config.logFormat = format
        }
        if let v = try reader.string("log_level") {
            guard let level = LogLevel(rawValue: v) else {
                throw reader.bad("log_level", "must be \"info\" or \"debug\", not \"\(v)\"")
            }
            config.logLevel = level
        }
        config.logFile = try reader.string("log_file")
        config.alertWebhookURLFile = try reader.string("alert_webhook_url_file")
        if let v = try reader.string("metrics_file") {
            guard v.hasPrefix("/"), !v.hasSuffix("/") else {
                throw reader.bad(
                    "metrics_file",
                    "must be an absolute file path, like \"/var/lib/node_exporter/textfile/billsync.prom\"")
            }
            config.metricsFile = v
        }
        if let list = try reader.stringArray("exports") {
            var formats: [String] = []
            for name in list {
                guard ExportFormats.named(name) != nil else {
                    throw reader.bad("exports", "unknown format \"\(name)\" (use \(ExportFormats.names))")
                }
                if !formats.contains(name) { formats.append(name) }
            }
            config.exports = formats
        }
        if let v = try reader.bool("csv_bom") { config.csvBOM = v }
        if let v = try reader.duration("request_timeout") { config.requestTimeout = v }
        if let v = try reader.duration("connect_timeout") { config.connectTimeout = v }
        if let v = try reader.duration("retry_base_delay") { config.retryBaseDelay = v }
        if let v = try reader.duration("retry_max_delay") { config.retryMaxDelay = v }
        if let v = try reader.int("retry_max_attempts") {
            guard v >= 1 else { throw reader.bad("retry_max_attempts", "must be at least 1") }
            config.retryMaxAttempts = v
        }
        if let v = try reader.duration("max_rate_limit_wait") {
            guard v > 0 else { throw reader.bad("max_rate_limit_wait", "must be longer than 0s") }
            config.maxRateLimitWait = v
        }
        if let v = try reader.int("max_response_bytes") {
            guard v >= 1024 else { throw reader.bad("max_response_bytes", "must be at least 1024") }
            config.maxResponseBytes = v
        }
        if let http = try reader.table("http") {
            let sub = TableReader(table: http, file: path, prefix: "http.")
            try sub.rejectUnknown(["listen"])
            if let v = try sub.string("listen") {
                guard let address = Self.hostPort(v) else {
                    throw sub.bad("listen", "\"\(v)\" is not host:port, like \"127.0.0.1:9464\" or \"[::1]:9464\"")
                }
                config.httpListen = address
                if !URLCheck.isLoopback("http://" + v) {
                    config.warnings.append(
                        "http.listen = \"\(v)\" is not a loopback address: /metrics and /readyz are open to that network; "
                            + "put a TLS reverse proxy in front or listen on 127.0.0.1")
                }
            }
        }
        if let accounting = try reader.table("accounting") {
            let sub = TableReader(table: accounting, file: path, prefix: "accounting.")
            try sub.rejectUnknown(accountingKeys)
            if let v = try sub.account("payable_account") { config.accounting.payableAccount = v }
            if let v = try sub.account("expense_account") { config.accounting.expenseAccount = v }
            if let v = try sub.account("payment_account") { config.accounting.paymentAccount = v }
            if let v = try sub.account("prepaid_account") { config.accounting.prepaidAccount = v }
            if let v = try sub.account("accrued_account") { config.accounting.accruedAccount = v }
            if let v = try sub.stringArray("operating_currencies") {
                guard !v.isEmpty else { throw sub.bad("operating_currencies", "must name at least one currency") }
                for code in v where !Self.isCurrencyCode(code) {
                    throw sub.bad("operating_currencies", "\"\(code)\" is not a 3-letter currency code")
                }
                config.accounting.operatingCurrencies = v.map { $0.uppercased() }
                config.accounting.operatingCurrenciesSet = true
            }
        }
        guard let sources = try reader.tableArray("sources"), !sources.isEmpty else {
            throw ConfigError(file: path, key: "sources", problem: "no [[sources]] configured")
        }
        var names = Set<String>()
        for (index, source) in sources.enumerated() {
            let sub = TableReader(table: source, file: path, prefix: "sources[\(index)].")
            let parsed = try parseSource(sub, config: config, environment: environment)
            guard names.insert(parsed.name).inserted else {
                throw sub.bad("name", "duplicate source name \"\(parsed.name)\" (names must be unique)")
            }
            config.sources.append(parsed)
            if !config.accounting.operatingCurrenciesSet,
                !config.accounting.operatingCurrencies.contains(parsed.currency)
            {
                config.accounting.operatingCurrencies.append(parsed.currency)
            }
            if case .inline = parsed.key {
                config.warnings.append(
                    "source \(parsed.name): api_key is written inline in \(path); prefer api_key_file or api_key_env")
            }
        }
        try parseBudgets(reader, into: &config, path: path)
        return config
    }

    /// `host:port` or `[v6]:port`, the port 0–65535.
    static func hostPort(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || ".-:".contains($0) }) else { return nil }
        return (host, port)
    }

    static func isCurrencyCode(_ text: String) -> Bool {
        text.count == 3 && text.allSatisfy { $0.isASCII && $0.isLetter }
    }

    static func parseSource(_ r: TableReader, config: Config, environment: [String: String]) throws(ConfigError)
        -> SourceConfig
    {
        try r.rejectUnknown(sourceKeys)
        guard let name = try r.string("name") else { throw r.missing("name") }
        guard !name.isEmpty, name.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 })
        else {
            throw r.bad("name", "\"\(name)\" must match [a-z0-9-]+")
        }
        guard let providerName = try r.string("provider") else { throw r.missing("provider") }
        guard let descriptor = ProviderRegistry.descriptor(for: ProviderKind(rawValue: providerName)) else {
            throw r.bad("provider", "unknown provider \"\(providerName)\" (use \(ProviderRegistry.names))")
        }
        let provider = descriptor.kind
        let refs: [KeyReference] = [
            try r.string("api_key_file").map(KeyReference.file),
            try r.string("api_key_env").map(KeyReference.env),
            try r.string("api_key").map(KeyReference.inline),
        ].compactMap { $0 }
        guard refs.count == 1 else {
            throw r.bad(
                "api_key_file",
                refs.isEmpty
                    ? "no key configured: set one of api_key_file, api_key_env, api_key"
                    : "set only one of api_key_file, api_key_env, api_key")
        }
        guard var baseURL = try r.string("base_url") ?? descriptor.defaultBaseURL else {
            throw r.missing("base_url", "\(provider) is self-hosted: base_url is required")
        }
        while baseURL.hasSuffix("/") { baseURL.removeLast() }
        let lower = baseURL.lowercased()
        if lower.hasPrefix("http://") {
            guard URLCheck.isLoopback(baseURL) else {
                throw r.bad(
                    "base_url",
                    "http:// is only allowed for loopback hosts; use https:// for \(URLCheck.host(baseURL) ?? baseURL)")
            }
        } else if !lower.hasPrefix("https://") || URLCheck.host(baseURL) == nil {
            throw r.bad("base_url", "\"\(baseURL)\" is not an https:// URL")
        }
        var source = SourceConfig(name: name, descriptor: descriptor, key: refs[0], baseURL: baseURL)
        func providers(_ having: (ProviderDescriptor) -> Bool) -> String {
            ProviderRegistry.all.filter(having).map(\.kind.rawValue).joined(separator: " and ")
        }
        source.team = try r.string("team")
        if source.team != nil && !descriptor.hasTeams {
            throw r.bad("team", "only \(providers(\.hasTeams)) sources have teams")
        }
        if let text = try r.string("usage_start") {
            guard descriptor.hasUsage else {
                throw r.bad("usage_start", "only \(providers(\.hasUsage)) sources have hourly usage")
            }
            guard let t = UTC.parse(text) else {
                throw r.bad("usage_start", "\"\(text)\" is not a date like 2025-01-01")
            }
            source.usageStart = UTC.startOfHour(t)
        }
        if let v = try r.duration("usage_lookback") {
            guard v >= 0, v.truncatingRemainder(dividingBy: 3600) == 0 else {
                throw r.bad("usage_lookback", "must be whole hours, like \"48h\"")
            }
            source.usageLookback = Int64(v)
        }
        if let v = try r.string("money_unit") {
            guard let unit = MoneyUnit(rawValue: v) else {
                throw r.bad("money_unit", "must be \"cents\" or \"decimal\", not \"\(v)\"")
            }
            source.moneyUnit = unit
        }
        if let v = try r.string("currency") {
            guard Self.isCurrencyCode(v) else {
                throw r.bad("currency", "\"\(v)\" is not a 3-letter currency code")
            }
            source.currency = v.uppercased()
        }
        source.pollInterval = try r.duration("poll_interval")
        try parseWebhook(r, into: &source)
        try parseMonthEnd(r, into: &source)
        if let v = try r.string("vendor") {
            guard let first = v.first, first.isASCII, first.isUppercase,
                v.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })
            else {
                throw r.bad(
                    "vendor", "\"\(v)\" must be letters and digits starting with a capital, like \"Northflank\"")
            }
            source.vendor = v
        }
        if let text = try r.string("rate_limit") {
            switch ValueSyntax.rateLimit(text) {
            case nil: throw r.bad("rate_limit", "\"\(text)\" is not like \"30/1m\" or \"none\"")
            case .unlimited?:
                guard source.isLoopback else {
                    throw r.bad("rate_limit", "\"none\" is only allowed for loopback base_url")
                }
                source.rateLimit = nil
            case .limited(let n, let p)?:
                source.rateLimit = RateLimit(requests: n, period: p)
            }
        }
        return source
    }
}

/// Typed reads from one TOML table with errors that name the full key.
struct TableReader {
    let table: TOMLTable
    let file: String
    let prefix: String

    func missing(_ key: String, _ why: String = "required key is missing") -> ConfigError {
        ConfigError(file: file, key: prefix + key, problem: why)
    }

    func bad(_ key: String, _ problem: String) -> ConfigError {
        ConfigError(file: file, key: prefix + key, problem: problem)
    }

    func rejectUnknown(_ known: Set<String>) throws(ConfigError) {
        for key in table.keys.sorted() where !known.contains(key) {
            throw ConfigError(
                file: file, key: prefix + key,
                problem: "unknown key (allowed: \(known.sorted().joined(separator: ", ")))")
        }
    }

    func value(_ key: String) -> TOMLValueConvertible? { table[key] }

    func string(_ key: String) throws(ConfigError) -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v.string else { throw bad(key, "expected a string, found \(v.type)") }
        return s
    }

    func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let v = value(key) else { return nil }
        guard let b = v.bool else { throw bad(key, "expected true or false, found \(v.type)") }
        return b
    }

    func int(_ key: String) throws(ConfigError) -> Int? {
        guard let v = value(key) else { return nil }
        guard let i = v.int else { throw bad(key, "expected an integer, found \(v.type)") }
        return i
    }

    func duration(_ key: String) throws(ConfigError) -> Double? {
        guard let text = try string(key) else { return nil }
        guard let seconds = ValueSyntax.duration(text) else {
            throw bad(
                key, "\"\(text)\" is not a duration (use a whole number with ms, s, m, h or d, like \"90s\" or \"1h\")")
        }
        return seconds
    }

    func account(_ key: String) throws(ConfigError) -> String? {
        guard let text = try string(key) else { return nil }
        let segments = text.split(separator: ":", omittingEmptySubsequences: false)
        let valid =
            segments.count >= 2
            && segments.allSatisfy { seg in
                guard let first = seg.first, first.isASCII, first.isUppercase else { return false }
                return seg.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            }
        guard valid else {
            throw bad(
                key,
                "\"\(text)\" is not an account name like \"Expenses:Cloud\" (capitalised segments of letters, digits, -)"
            )
        }
        return text
    }

    func stringArray(_ key: String) throws(ConfigError) -> [String]? {
        guard let v = value(key) else { return nil }
        guard let array = v.array else { throw bad(key, "expected an array of strings, found \(v.type)") }
        var out: [String] = []
        for item in array {
            guard let s = item.string else { throw bad(key, "expected an array of strings") }
            out.append(s)
        }
        return out
    }

    func table(_ key: String) throws(ConfigError) -> TOMLTable? {
        guard let v = value(key) else { return nil }
        guard let t = v.table else { throw bad(key, "expected a table [\(key)], found \(v.type)") }
        return t
    }

    func tableArray(_ key: String) throws(ConfigError) -> [TOMLTable]? {
        guard let v = value(key) else { return nil }
        guard let array = v.array else { throw bad(key, "expected [[\(key)]] tables, found \(v.type)") }
        var out: [TOMLTable] = []
        for item in array {
            guard let t = item.table else { throw bad(key, "expected [[\(key)]] tables") }
            out.append(t)
        }
        return out
    }
}

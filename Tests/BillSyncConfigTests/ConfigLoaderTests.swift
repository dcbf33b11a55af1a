import BillSyncConfig
import BillSyncCore
import Foundation
import Testing

@Suite struct ConfigLoaderTests {
    static let minimal = """
        state_dir = "/tmp/bs"
        [[sources]]
        name = "nf"
        provider = "northflank"
        api_key_env = "NF_KEY"
        """

    func parse(_ text: String) throws(ConfigError) -> Config {
        try ConfigLoader.parse(text, path: "billsync.toml")
    }

    func problem(_ text: String) -> String {
        do {
            _ = try parse(text)
            return "no error"
        } catch { return error.description }
    }

    @Test func defaultsFollowTheSpec() throws {
        let c = try parse(Self.minimal)
        #expect(c.exportDir == "/tmp/bs/exports")
        #expect(c.pollInterval == 3600)
        #expect(c.exports == ["csv", "ledger", "beancount"])
        #expect(c.accounting.payableAccount == "Liabilities:AccountsPayable")
        let s = try #require(c.sources.first)
        #expect(s.baseURL == "https://api.northflank.com")
        #expect(s.rateLimit == RateLimit(requests: 1000, period: 3600))
        #expect(s.usageLookback == 48 * 3600)
        #expect(s.vendor == "Northflank")
    }

    @Test func everyKeyIsRead() throws {
        let c = try parse(
            """
            state_dir = "/s"
            export_dir = "/e"
            poll_interval = "15m"
            log_format = "json"
            exports = ["csv", "focus"]
            csv_bom = true
            [accounting]
            payable_account = "Liabilities:AP"
            [[sources]]
            name = "ts-1"
            provider = "typesense-cloud"
            api_key_file = "ts"
            poll_interval = "90s"
            rate_limit = "20/1m"
            vendor = "Typesense"
            """)
        #expect(c.pollInterval == 900)
        #expect(c.logFormat == .json)
        #expect(c.exports == ["csv", "focus"])
        #expect(c.csvBOM)
        #expect(c.accounting.payableAccount == "Liabilities:AP")
        #expect(c.sources[0].pollInterval == 90)
        #expect(c.sources[0].rateLimit == RateLimit(requests: 20, period: 60))
        #expect(c.sources[0].vendor == "Typesense")
    }

    @Test func maxRateLimitWaitDefaultsToEachProvidersDocumentedPeriod() throws {
        let c = try parse(
            Self.minimal + """

                [[sources]]
                name = "ts"
                provider = "typesense-cloud"
                api_key_env = "TS_KEY"
                rate_limit = "30/1s"
                """)
        #expect(c.maxRateLimitWait == nil)
        #expect(c.sources.map(\.documentedRatePeriod) == [3600, 60])
        let set = try parse("max_rate_limit_wait = \"10m\"\n" + Self.minimal)
        #expect(set.maxRateLimitWait == 600)
        #expect(
            problem("max_rate_limit_wait = \"0s\"\n" + Self.minimal)
                == "billsync.toml: max_rate_limit_wait: must be longer than 0s")
    }

    @Test func operatingCurrenciesAreTheSourcesCurrenciesUnlessConfigured() throws {
        let two =
            Self.minimal
            + "\ncurrency = \"eur\"\n[[sources]]\nname = \"ts\"\nprovider = \"typesense-cloud\"\napi_key_env = \"K\"\n"
        #expect(try parse(two).accounting.operatingCurrencies == ["EUR", "USD"])
        #expect(try parse(two).accounting.operatingCurrenciesSet == false)
        let set = try parse(two + "\n[accounting]\noperating_currencies = [\"chf\"]\n")
        #expect(set.accounting.operatingCurrencies == ["CHF"])
        #expect(set.accounting.operatingCurrenciesSet)
        #expect(
            problem(Self.minimal + "\n[accounting]\noperating_currencies = [\"dollars\"]\n")
                == "billsync.toml: accounting.operating_currencies: \"dollars\" is not a 3-letter currency code")
        #expect(
            problem(Self.minimal + "\n[accounting]\noperating_currencies = []\n")
                == "billsync.toml: accounting.operating_currencies: must name at least one currency")
    }

    @Test func httpListenIsHostAndPortAndWarnsWhenNotLoopback() throws {
        let loopback = try parse(Self.minimal + "\n[http]\nlisten = \"127.0.0.1:9464\"\n")
        #expect(loopback.httpListen?.host == "127.0.0.1" && loopback.httpListen?.port == 9464)
        #expect(loopback.warnings.isEmpty)
        let v6 = try parse(Self.minimal + "\n[http]\nlisten = \"[::1]:9100\"\n")
        #expect(v6.httpListen?.host == "::1" && v6.httpListen?.port == 9100)
        let open = try parse(Self.minimal + "\n[http]\nlisten = \"0.0.0.0:9464\"\n")
        #expect(open.warnings.contains { $0.hasPrefix("http.listen = \"0.0.0.0:9464\" is not a loopback address") })
        #expect(
            problem(Self.minimal + "\n[http]\nlisten = \"9464\"\n")
                == "billsync.toml: http.listen: \"9464\" is not host:port, like \"127.0.0.1:9464\" or \"[::1]:9464\"")
        #expect(
            problem(Self.minimal + "\n[http]\nport = 1\n").hasPrefix("billsync.toml: http.port: unknown key"))
        #expect(try parse(Self.minimal).httpListen == nil)
    }

    @Test func webhookSecretsOnlyWhereTheProviderSendsWebhooks() throws {
        let nf = try parse(Self.minimal + "\nwebhook_secret_file = \"nf-hook\"\n")
        #expect(nf.sources[0].webhookSecret == .file("nf-hook"))
        #expect(nf.sources[0].webhookSecretHeader == "X-Northflank-Webhook-Secret")
        #expect(nf.sources[0].webhookMinInterval == 5)
        let custom = try parse(
            Self.minimal
                + "\nwebhook_secret_env = \"H\"\nwebhook_secret_header = \"X-Hook\"\nwebhook_min_interval = \"30s\"\n")
        #expect(custom.sources[0].webhookSecretHeader == "X-Hook" && custom.sources[0].webhookMinInterval == 30)
        let typesense = Self.minimal.replacingOccurrences(
            of: "provider = \"northflank\"", with: "provider = \"typesense-cloud\"")
        #expect(
            problem(typesense + "\nwebhook_secret_file = \"x\"\n")
                == "billsync.toml: sources[0].webhook_secret_file: typesense-cloud sends no webhooks billsync can verify"
        )
        #expect(
            problem(Self.minimal + "\nwebhook_secret_file = \"x\"\nwebhook_secret_env = \"Y\"\n")
                == "billsync.toml: sources[0].webhook_secret_file: set one of webhook_secret_file and webhook_secret_env, not both"
        )
        #expect(
            problem(Self.minimal + "\nwebhook_secret_header = \"X-Hook\"\n")
                == "billsync.toml: sources[0].webhook_secret_file: required with webhook_secret_header")
        let usageflow = Self.minimal.replacingOccurrences(
            of: "provider = \"northflank\"", with: "provider = \"usageflow\"\nbase_url = \"https://uf.example\"")
        #expect(
            problem(usageflow + "\nwebhook_secret_file = \"x\"\nwebhook_secret_header = \"X-Hook\"\n")
                == "billsync.toml: sources[0].webhook_secret_header: usageflow signs its webhooks; it sends no secret header"
        )
    }

    @Test func unknownKeyIsAnError() {
        #expect(
            problem(Self.minimal + "\nbase_urll = \"https://x\"")
                == "billsync.toml: sources[0].base_urll: unknown key (allowed: api_key, api_key_env, api_key_file, base_url, currency, money_unit, name, poll_interval, provider, rate_limit, reconcile_tolerance, spike_factor, spike_min, team, usage_lookback, usage_start, vendor, webhook_min_interval, webhook_secret_env, webhook_secret_file, webhook_secret_header, webhook_secret_previous_file)"
        )
        #expect(problem("statedir = \"/x\"\n" + Self.minimal).hasPrefix("billsync.toml: statedir: unknown key"))
    }

    @Test func badDurationIsAnError() {
        #expect(
            problem(
                Self.minimal.replacingOccurrences(
                    of: "state_dir = \"/tmp/bs\"", with: "state_dir = \"/tmp/bs\"\npoll_interval = \"1 hour\""))
                == "billsync.toml: poll_interval: \"1 hour\" is not a duration (use a whole number with ms, s, m, h or d, like \"90s\" or \"1h\")"
        )
    }

    @Test func duplicateSourceNamesAreAnError() {
        #expect(
            problem(
                Self.minimal
                    + "\n[[sources]]\nname = \"nf\"\nprovider = \"usageflow\"\napi_key_env = \"X\"\nbase_url = \"https://uf.example\""
            ) == "billsync.toml: sources[1].name: duplicate source name \"nf\" (names must be unique)")
    }

    @Test func plainHTTPOnlyForLoopback() throws {
        #expect(
            problem(Self.minimal + "\nbase_url = \"http://api.example.com\"")
                == "billsync.toml: sources[0].base_url: http:// is only allowed for loopback hosts; use https:// for api.example.com"
        )
        for host in ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9"] {
            #expect(try parse(Self.minimal + "\nbase_url = \"\(host)\"").sources[0].baseURL == host)
        }
        #expect(
            problem(Self.minimal + "\nbase_url = \"https://x.example\"\nrate_limit = \"none\"")
                == "billsync.toml: sources[0].rate_limit: \"none\" is only allowed for loopback base_url")
    }

    @Test func sourceNamesAreRestricted() {
        #expect(
            problem(Self.minimal.replacingOccurrences(of: "\"nf\"", with: "\"NF prod\""))
                == "billsync.toml: sources[0].name: \"NF prod\" must match [a-z0-9-]+")
    }

    @Test func usageflowNeedsABaseURL() {
        #expect(
            problem("state_dir = \"/s\"\n[[sources]]\nname = \"u\"\nprovider = \"usageflow\"\napi_key_env = \"K\"")
                == "billsync.toml: sources[0].base_url: usageflow is self-hosted: base_url is required")
    }

    @Test func inlineKeysAreAcceptedWithAWarning() throws {
        let c = try parse(
            Self.minimal.replacingOccurrences(of: "api_key_env = \"NF_KEY\"", with: "api_key = \"secret-123\""))
        #expect(
            c.warnings == ["source nf: api_key is written inline in billsync.toml; prefer api_key_file or api_key_env"])
        #expect(!c.warnings.joined().contains("secret-123"))
    }

    @Test func keyFilesResolveAgainstTheCredentialsDirectory() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "bs-cred-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        ).path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "k-123456\n".write(toFile: dir + "/nf", atomically: true, encoding: .utf8)
        try "".write(toFile: dir + "/empty", atomically: true, encoding: .utf8)
        let env = ["CREDENTIALS_DIRECTORY": dir]
        #expect(try KeyReader.read(.file("nf"), source: "nf", file: "c.toml", environment: env) == "k-123456")
        #expect(throws: ConfigError.self) {
            try KeyReader.read(.file("missing"), source: "nf", file: "c.toml", environment: env)
        }
        do { _ = try KeyReader.read(.file("missing"), source: "nf", file: "c.toml", environment: env) } catch {
            #expect(error.description == "c.toml: source nf.api_key_file: key file \(dir)/missing does not exist")
        }
        do { _ = try KeyReader.read(.file("empty"), source: "nf", file: "c.toml", environment: env) } catch {
            #expect(error.description == "c.toml: source nf.api_key_file: key file \(dir)/empty is empty")
        }
        do { _ = try KeyReader.read(.env("NOPE"), source: "nf", file: "c.toml", environment: env) } catch {
            #expect(error.description == "c.toml: source nf.api_key_env: environment variable NOPE is not set")
        }
    }

    @Test func valueSyntax() {
        #expect(ValueSyntax.duration("90s") == 90)
        #expect(ValueSyntax.duration("2d") == 172800)
        #expect(ValueSyntax.duration("250ms") == 0.25)
        #expect(ValueSyntax.duration("1.5h") == nil)
        #expect(ValueSyntax.duration("h") == nil)
        #expect(ValueSyntax.rateLimit("30/1m") == .limited(requests: 30, period: 60))
        #expect(ValueSyntax.rateLimit("1000/h") == .limited(requests: 1000, period: 3600))
        #expect(ValueSyntax.rateLimit("none") == .unlimited)
        #expect(ValueSyntax.rateLimit("fast") == nil)
    }
}

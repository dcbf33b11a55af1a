import ArgumentParser
import BillSyncSimulator
import Glibc

/// `billsync-sim`: the provider simulator as a process, for `demo`, tests and benchmarks.
struct BillSyncSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billsync-sim",
        abstract: "Serve simulated Northflank, Typesense Cloud and UsageFlow billing APIs on one loopback port.",
        discussion: """
            Data is generated from --seed; with --now fixed, every response is byte-identical from run to run.
            Prints "billsync-sim listening on http://HOST:PORT" once ready and serves until SIGTERM or SIGINT.

            Control endpoints (no key): POST /_sim/invoices/{provider}/new, POST /_sim/invoices/{provider}/{id}/status,
            POST|GET|DELETE /_sim/faults, GET /_sim/requests, GET /_sim/requests/log[?times=1], POST /_sim/requests/reset,
            GET /_sim/truth/invoices, GET /_sim/truth/usage.
            """)

    @Option(help: "Port to listen on; 0 picks a free one.")
    var port: Int = 0

    @Option(help: "Address to bind; keep it loopback.")
    var host = "127.0.0.1"

    @Option(help: "Seed of all generated data and of the error-rate dice.")
    var seed: UInt64 = 1

    @Option(
        help: ArgumentHelp(
            "The instant data is generated against: unix seconds or a UTC instant such as 2026-11-01T00:00:00Z.",
            discussion: "Without it the real clock is read at each request.", valueName: "instant"))
    var now: String?

    @Option(help: "Northflank teams team-1...team-N, besides the org account.")
    var teams = 2

    @Option(help: "Days of Northflank usage and invoices before --now.")
    var historyDays = 90

    @Option(help: "Typesense Cloud invoices (weekly unless --typesense-period-days says otherwise).")
    var typesenseInvoices = 30

    @Option(help: "Days per Typesense Cloud invoice period.")
    var typesensePeriodDays = 7

    @Option(help: "Bill node and bandwidth for this many clusters on every Typesense invoice (0: one or two).")
    var typesenseBilledClusters = 0

    @Option(help: "Monthly UsageFlow invoices.")
    var usageflowInvoices = 12

    @Flag(help: "UsageFlow invoice ids as digits (7) instead of uf_inv_7.")
    var numericIds = false

    @Option(
        help: ArgumentHelp(
            "Northflank money: cents (as documented) or decimal (major units).",
            valueName: "cents|decimal"))
    var northflankMoney = "cents"

    @Flag(
        help: ArgumentHelp(
            "Write Northflank amounts as JavaScript's JSON.stringify does (2.9e-7, not 0.00000029).",
            discussion:
                "Usage then has 8 fractional cent digits, and about one storage and one cluster amount in four is below 10^-6 cent."
        ))
    var northflankJavascriptNumbers = false

    @Flag(
        help: ArgumentHelp(
            "Bill every Northflank invoice as exactly the sum of its period's usage hours, at usage precision.",
            discussion: "Missing hours are billed too, spikes multiplied; the current month bills the hours so far."))
    var northflankInvoicesFromUsage = false

    @Option(
        help: ArgumentHelp(
            "Add CENTS (a decimal such as 12.5 or -0.01) to Northflank invoice ID's PaaS cpu, subtotal and total.",
            discussion: "Repeatable. At most 4 fractional digits, 6 with --northflank-invoices-from-usage.",
            valueName: "ID=CENTS"))
    var northflankInvoiceOffset: [String] = []

    @Option(
        help: ArgumentHelp(
            "Never serve COUNT usage hours of ACCOUNT from the whole hour START (unix seconds or ISO-8601).",
            discussion: "Repeatable. Left out of /_sim/truth/usage too; invoices still bill them.",
            valueName: "ACCOUNT:START:COUNT"))
    var northflankMissingHours: [String] = []

    @Option(
        help: ArgumentHelp(
            "Multiply every usage component of ACCOUNT's whole hour HOUR by FACTOR, a positive integer.",
            discussion: "Repeatable. An hour whose usage is all zero stays zero: spike one with usage.",
            valueName: "ACCOUNT:HOUR:FACTOR"))
    var northflankSpike: [String] = []

    @Flag(help: "Fill Typesense line-item descriptions with text that breaks naive CSV and journals.")
    var hostileText = false

    @Flag(help: "Enforce the providers' limits: Northflank 1000/hour, Typesense 30/minute per key.")
    var rateLimits = false

    @Option(help: "Divide the rate-limit periods by this (60: Typesense allows 30 requests per second).")
    var rateScale: Double = 1

    @Option(help: "Milliseconds added to every provider response.")
    var latencyMs = 0

    @Option(help: "Fraction of provider requests answered 500, 502 or 503 (0...1).")
    var errorRate: Double = 0

    @Option(help: "The Bearer token Northflank accepts.")
    var northflankKey = "nf-sim-key"

    @Option(help: "The X-TYPESENSE-CLOUD-MANAGEMENT-API-KEY Typesense Cloud accepts.")
    var typesenseKey = "ts-sim-key"

    @Option(help: "The x-usageflow-api-key UsageFlow accepts.")
    var usageflowKey = "uf-sim-key"

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be between 0 and 65535.") }
        if let now, SimulatorOptions.parseInstant(now) == nil {
            throw ValidationError(
                "--now takes unix seconds or a UTC instant such as 2026-11-01T00:00:00Z, not '\(now)'.")
        }
        guard MoneyUnit(rawValue: northflankMoney) != nil else {
            throw ValidationError("--northflank-money takes cents or decimal, not '\(northflankMoney)'.")
        }
        for (flag, value) in [
            ("--teams", teams), ("--history-days", historyDays),
            ("--typesense-invoices", typesenseInvoices), ("--usageflow-invoices", usageflowInvoices),
            ("--latency-ms", latencyMs), ("--typesense-billed-clusters", typesenseBilledClusters),
        ] where value < 0 {
            throw ValidationError("\(flag) must not be negative.")
        }
        guard typesensePeriodDays >= 1 else { throw ValidationError("--typesense-period-days must be at least 1.") }
        guard rateScale > 0 else { throw ValidationError("--rate-scale must be greater than 0.") }
        guard (0...1).contains(errorRate) else { throw ValidationError("--error-rate is a fraction between 0 and 1.") }
        _ = try options()
    }

    func run() throws {
        let options = try options()

        // Block the stop signals before any server thread exists, so only sigwait sees them.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

        let simulator = Simulator(options: options)
        let boundPort = try simulator.start(host: host, port: port)
        print("billsync-sim listening on http://\(host.contains(":") ? "[\(host)]" : host):\(boundPort)")
        fflush(nil)
        var received: Int32 = 0
        sigwait(&stopSignals, &received)
        simulator.stop()
    }

    /// The options the flags ask for; throws on a value the simulator cannot serve.
    private func options() throws -> SimulatorOptions {
        var options = SimulatorOptions()
        options.seed = seed
        options.now = now.flatMap(SimulatorOptions.parseInstant)
        options.teams = teams
        options.historyDays = historyDays
        options.typesenseInvoices = typesenseInvoices
        options.typesensePeriodDays = typesensePeriodDays
        options.typesenseBilledClusters = typesenseBilledClusters
        options.usageflowInvoices = usageflowInvoices
        options.numericIDs = numericIds
        options.northflankKey = northflankKey
        options.typesenseKey = typesenseKey
        options.usageflowKey = usageflowKey
        options.northflankMoney = MoneyUnit(rawValue: northflankMoney) ?? .cents
        options.hostileText = hostileText
        options.rateLimits = rateLimits
        options.rateScale = rateScale
        options.latencyMs = latencyMs
        options.errorRate = errorRate
        options.invoicesFromUsage = northflankInvoicesFromUsage
        options.javaScriptNumbers = northflankJavascriptNumbers
        for text in northflankInvoiceOffset {
            guard let separator = text.firstIndex(of: "="), separator != text.startIndex else {
                throw ValidationError(
                    "--northflank-invoice-offset takes ID=CENTS, such as nfinv_org_202609=12.5, not '\(text)'.")
            }
            let id = String(text[..<separator])
            guard options.invoiceOffsets[id] == nil else {
                throw ValidationError("--northflank-invoice-offset names \(id) twice.")
            }
            options.invoiceOffsets[id] = String(text[text.index(after: separator)...])
        }
        do throws(SimulatorOptionError) {
            options.missingHours = try northflankMissingHours.map(NorthflankMissingHours.init(parsing:))
        } catch {
            throw ValidationError("--northflank-missing-hours: \(error.message).")
        }
        do throws(SimulatorOptionError) {
            options.spikes = try northflankSpike.map(NorthflankSpike.init(parsing:))
        } catch {
            throw ValidationError("--northflank-spike: \(error.message).")
        }
        if let problem = options.problem {
            throw ValidationError(problem + ".")
        }
        return options
    }
}

BillSyncSim.main()

import ArgumentParser
import BillSyncCore
import BillSyncDaemon
import BillSyncEngine
import BillSyncStore
import Foundation

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Per source: last success, last error, sync position, row counts, requests made.")

    @OptionGroup var options: ConfigOption

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() throws {
        let runtime = try Runtime.load(options)
        guard FileManager.default.fileExists(atPath: runtime.config.databasePath) else {
            printError("no state yet at \(runtime.config.databasePath): run `billsync sync` first")
            throw Exit.sourceFailed
        }
        let store = try runtime.openStore()
        var entries: [(SourceState, BillingStore.Counts)] = []
        for source in runtime.config.sources {
            let state = try store.state(source: source.name, provider: source.provider.rawValue)
            entries.append((state, try store.counts(source: source.name)))
        }
        let budgets = try runtime.config.budgets.map {
            try BudgetStanding.of($0, config: runtime.config, store: store, now: runtime.clock.now())
        }
        if json {
            print(Self.json(entries, budgets: budgets))
        } else {
            print(Self.text(entries) + Self.text(budgets))
        }
    }

    /// `budget cloud (2026-11): 4021.50 of 5000.00 USD month to date (80.4 %), forecast 8311.10`
    static func text(_ budgets: [BudgetStanding]) -> String {
        budgets.map { b in
            "\nbudget \(b.name) (\(b.month)): \(b.monthToDate) of \(b.monthly) \(b.currency) month to date "
                + "(\(b.monthToDate.percent(of: b.monthly).formatted(minimumDecimals: 1)) %), forecast \(b.forecast)"
        }.joined()
    }

    static func time(_ t: Int64?) -> String { t.map(UTC.iso8601) ?? "never" }

    static func text(_ entries: [(SourceState, BillingStore.Counts)]) -> String {
        var out: [String] = []
        for (s, c) in entries {
            out.append("\(s.source) (\(s.provider))")
            out.append("  last success:  \(time(s.lastSuccessAt))")
            out.append("  last error:    " + (s.lastError.map { "\(time(s.lastErrorAt)) \($0)" } ?? "none"))
            out.append(
                "  invoice walk:  "
                    + (s.walkActive ? "in progress, next cursor \(s.walkCursor ?? "(first page)")" : "idle")
                    + (s.walkFull ? ", next walk reads the full list" : ""))
            if s.usageStart != nil || s.usageDoneUntil != nil {
                out.append(
                    "  usage:         from \(time(s.usageStart)), read up to \(time(s.usageDoneUntil))"
                        + (s.usageWindow.map { ", window \(UTC.iso8601($0.start))..\(UTC.iso8601($0.end)) in progress" }
                            ?? ""))
            }
            out.append(
                "  rows:          \(c.invoices) invoices (\(c.openInvoices) not paid), \(c.lineItems) line items, \(c.usageHours) usage hours, \(c.historyRows) history rows"
            )
            if c.incompleteInvoices > 0 {
                out.append(
                    "  incomplete:    \(c.incompleteInvoices) invoices with a field the provider left out (see invoice.incomplete in the log)"
                )
            }
            out.append("  requests:      \(s.lastSyncRequests) last sync, \(s.requestsTotal) total")
        }
        return out.joined(separator: "\n")
    }

    static func json(_ entries: [(SourceState, BillingStore.Counts)], budgets: [BudgetStanding] = []) -> String {
        func q(_ s: String?) -> String {
            guard let s else { return "null" }
            var out = ""
            JSONValue.writeQuoted(s, into: &out)
            return out
        }
        func t(_ v: Int64?) -> String { q(v.map(UTC.iso8601)) }
        let items = entries.map { (s, c) -> String in
            let window =
                s.usageWindow.map { "{\"start\":\(t($0.start)),\"end\":\(t($0.end)),\"cursor\":\(q($0.cursor))}" }
                ?? "null"
            return """
                {"source":\(q(s.source)),"provider":\(q(s.provider)),"last_attempt":\(t(s.lastAttemptAt)),"last_success":\(t(s.lastSuccessAt)),\
                "last_error":\(q(s.lastError)),"last_error_at":\(t(s.lastErrorAt)),\
                "invoice_walk":{"active":\(s.walkActive),"cursor":\(q(s.walkCursor)),"full":\(s.walkFull)},\
                "usage":{"start":\(t(s.usageStart)),"done_until":\(t(s.usageDoneUntil)),"window":\(window)},\
                "rows":{"invoices":\(c.invoices),"open_invoices":\(c.openInvoices),"line_items":\(c.lineItems),"usage_hours":\(c.usageHours),"history":\(c.historyRows),"incomplete_invoices":\(c.incompleteInvoices)},\
                "requests":{"last_sync":\(s.lastSyncRequests),"total":\(s.requestsTotal)}}
                """
        }
        let budgetItems = budgets.map { b in
            "{\"name\":\(q(b.name)),\"month\":\(q(b.month)),\"currency\":\(q(b.currency)),"
                + "\"monthly\":\(q(b.monthly.description)),\"month_to_date\":\(q(b.monthToDate.description)),"
                + "\"forecast\":\(q(b.forecast.description))}"
        }
        return "{\"sources\":[" + items.joined(separator: ",") + "],\"budgets\":[" + budgetItems.joined(separator: ",")
            + "]}"
    }
}

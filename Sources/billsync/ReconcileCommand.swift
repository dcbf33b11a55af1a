import ArgumentParser
import BillSyncConfig
import BillSyncCore
import BillSyncExport
import Foundation

struct ReconcileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Check that the stored invoices, their lines and the usage agree (no network).",
        discussion: """
            Prints every check that is not ok, then a summary. Exit codes: 0 every check ok; 1 a mismatch \
            or an incomplete period; 2 usage or config error.
            """)

    @OptionGroup var options: ConfigOption

    @Option(help: ArgumentHelp("Only invoices whose period starts in this UTC month.", valueName: "YYYY-MM"))
    var month: String?

    @Option(help: ArgumentHelp("Only this source.", valueName: "name"))
    var source: String?

    func run() throws {
        let runtime = try Runtime.load(options)
        if let month, !Self.isMonth(month) {
            printError("--month takes a UTC month as YYYY-MM, not '\(month)'")
            throw Exit.configError
        }
        if let source, runtime.config.source(named: source) == nil {
            printError(
                "--source: no source named '\(source)' in \(runtime.config.path) (sources: "
                    + runtime.config.sources.map(\.name).joined(separator: ", ") + ")")
            throw Exit.configError
        }
        let store = try runtime.openStore()
        let alerts = try runtime.alertSender()
        defer { alerts?.finish(timeout: 5) }
        var counts: [ReconcileFinding.Status: Int] = [:]
        var invoices = 0
        var last = ""
        // Streamed: each finding is printed as it is made, so memory stays flat on a long history.
        try Reconciliation.run(
            store: store, tolerances: runtime.config.reconcileTolerances, month: month, source: source
        ) { f in
            counts[f.status, default: 0] += 1
            if !f.invoiceID.isEmpty, f.source + "/" + f.invoiceID != last {
                invoices += 1
                last = f.source + "/" + f.invoiceID
            }
            guard f.status != .ok else { return }
            var metadata: [String: String] = [
                "source": f.source, "invoice": f.invoiceID, "check": f.check, "status": f.status.rawValue,
                "expected": f.text(f.expected), "actual": f.text(f.actual), "difference": f.text(f.difference),
                "currency": f.currency,
            ]
            if !f.missingHours.isEmpty {
                metadata["missing_hours"] = "\(f.missingHours.count)"
                metadata["missing"] = Reconciliation.describe(hours: f.missingHours)
            }
            if let until = f.readUntil { metadata["usage_read_until"] = UTC.iso8601(until) }
            runtime.logger.warning("reconcile.mismatch", metadata: metadata.mapValues { .string($0) })
            alerts?.send(
                "reconcile.mismatch",
                text: "billsync: \(f.source) invoice \(f.invoiceID) \(f.check) is \(f.status.rawValue): expected "
                    + "\(f.text(f.expected)), actual \(f.text(f.actual)) \(f.currency)",
                fields: metadata.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            var line =
                "\(f.status.rawValue.uppercased()) \(f.source) \(f.invoiceID.isEmpty ? "invoice list" : f.invoiceID) "
                + "(\(UTC.date(f.periodStart)) to "
                + "\(UTC.date(f.periodEnd))) \(f.check): expected \(f.text(f.expected))"
                + (f.currency.isEmpty ? "" : " \(f.currency)")
                + ", actual \(f.text(f.actual)), difference \(f.text(f.difference))"
            if !f.missingHours.isEmpty {
                line += "; \(f.missingHours.count) hours missing: " + Reconciliation.describe(hours: f.missingHours)
            }
            if let until = f.readUntil { line += "; usage read only up to \(UTC.iso8601(until))" }
            print(line)
        }
        let total = counts.values.reduce(0, +)
        print(
            "\(total) checks of \(invoices) invoices: \(counts[.ok] ?? 0) ok, \(counts[.mismatch] ?? 0) mismatch, "
                + "\(counts[.incomplete] ?? 0) incomplete")
        if (counts[.mismatch] ?? 0) + (counts[.incomplete] ?? 0) > 0 { throw Exit.sourceFailed }
    }

    static func isMonth(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isNumber) }),
            let m = Int(parts[1])
        else { return false }
        return (1...12).contains(m)
    }
}

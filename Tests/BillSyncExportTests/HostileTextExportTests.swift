import BillSyncConfig
import BillSyncCore
import BillSyncExport
import BillSyncStore
import Foundation
import Testing

/// Provider text that tries to break every export format: ids, line types and
/// descriptions full of quotes, newlines, `;`, `|`, formula prefixes, tabs, NUL-free
/// control characters, emoji, right-to-left marks and 100 kB strings.
@Suite struct HostileTextExportTests {
    static let hostile = [
        "=HYPERLINK(\"http://x\")", "@SUM(A1)", "+1", "-2", "\tTab", "a;b|c", "line\nbreak\r\nagain",
        "quote \" and \\ backslash",
        "emoji 🚀💸", "rtl \u{200F}mark\u{202E}", "ctrl \u{01}\u{1B}", "  runs   of   spaces  ",
        "(paren) [bracket] {brace}",
        "colon: tag:value :tag:", "^link #hash", "nul \u{0} byte", String(repeating: "x", count: 100_000),
    ]

    func tool(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
        where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        return nil
    }

    func run(_ tool: String, _ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let out = FileManager.default.temporaryDirectory.path + "/bs-tool-\(UUID().uuidString.prefix(8))"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        defer { unlink(out) }
        p.standardOutput = FileHandle(forWritingAtPath: out)
        p.standardError = FileHandle(forWritingAtPath: out)
        try p.run()
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
    }

    @Test func hostileIdsTypesAndDescriptionsKeepEveryFormatValid() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/bs-hostile-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try BillingStore(path: dir + "/billsync.sqlite3")
        var day: Int64 = 1_767_225_600  // 2026-01-01
        for (i, text) in Self.hostile.enumerated() {
            let lines = [
                LineItem(
                    lineNo: 1, lineType: text, category: .usage, description: text,
                    quantity: try ExactDecimal(parsing: "1.5"),
                    unit: text, unitPrice: try ExactDecimal(parsing: "2"), amount: try ExactDecimal(parsing: "3.00"),
                    resourceID: text, attributes: "{\"k\":\"\(text.prefix(10))\"}"),
                LineItem(
                    lineNo: 2, lineType: "prepaid-credit-purchase", category: .purchase, description: text,
                    amount: try ExactDecimal(parsing: "1.25")),
            ]
            let invoice = Invoice(
                id: text + "#\(i)", number: text, status: i % 2 == 0 ? .paid : .open, providerStatus: text,
                currency: "USD", periodStart: day - 86400 * 7, periodEnd: day, issuedOn: day,
                total: try ExactDecimal(parsing: "4.25"),
                creditsApplied: i % 2 == 0 ? try ExactDecimal(parsing: "0.25") : .zero,
                url: text, lineItems: lines)
            try store.commitInvoicePage(
                source: "ts", provider: "typesense-cloud", invoices: [invoice], position: nil, seenAt: day, syncDay: day
            )
            day += 86400
        }
        // Stored exactly, whatever the text.
        let stored = try store.allInvoices()
        #expect(stored.count == Self.hostile.count)
        for (i, text) in Self.hostile.enumerated() {
            let inv = try #require(
                stored.first { $0.invoice.id == text + "#\(i)" }, "invoice \(i) not stored under its exact id")
            #expect(inv.invoice.lineItems?.first?.description == text)
            #expect(inv.invoice.lineItems?.first?.lineType == text)
            #expect(inv.invoice.providerStatus == text)
        }
        let exporter = Exporter(
            store: store, directory: dir + "/exports", bom: false, accounting: AccountingConfig(),
            vendors: ["ts": "TypesenseCloud"])
        let files = try exporter.run(formats: ["csv", "ledger", "beancount", "focus"])
        #expect(files.count == 8)
        let journal = dir + "/exports/billsync.journal"
        let text = try String(contentsOfFile: journal, encoding: .utf8)
        #expect(text.contains("account Expenses:Cloud:TypesenseCloud:HYPERLINKHttpX\n"))
        #expect(!text.contains("\u{200F}") && !text.contains("\u{01}") && !text.contains("\r"))
        if let hledger = tool("hledger") {
            let (rc, out) = try run(hledger, ["-f", journal, "check", "-s", "ordereddates", "payees"])
            #expect(rc == 0 && out.isEmpty, "\(out)")
        } else {
            Issue.record("hledger is not installed")
        }
        if let ledger = tool("ledger") {
            let (rc, out) = try run(ledger, ["-f", journal, "--pedantic", "bal"])
            #expect(rc == 0 && !out.contains("arning") && !out.contains("rror"), "\(out)")
        } else {
            Issue.record("ledger is not installed")
        }
        if let bean = tool("bean-check") {
            let (rc, out) = try run(bean, [dir + "/exports/billsync.beancount"])
            #expect(rc == 0 && out.isEmpty, "\(out)")
        } else {
            Issue.record("bean-check is not installed")
        }
        // The CSVs keep the text exactly (guarded), however long.
        let csv = try String(contentsOfFile: dir + "/exports/line_items.csv", encoding: .utf8)
        #expect(csv.contains(String(repeating: "x", count: 100_000)))
        #expect(csv.contains("\"'=HYPERLINK(\"\"http://x\"\")\""))
        #expect(csv.contains("emoji 🚀💸"))
        #expect(!csv.utf8.contains(0) && csv.contains("nul \u{FFFD} byte"))
    }

    @Test func accountSegmentsAndTokens() {
        #expect(JournalNames.segment("byoc-gpu-memory") == "ByocGpuMemory")
        #expect(JournalNames.segment("prepaid_credit_purchase") == "PrepaidCreditPurchase")
        #expect(JournalNames.segment("=;|\n") == "Other")
        #expect(JournalNames.segment("4k") == "X4k")
        #expect(JournalNames.token("inv (1); x|y\n") == "inv__1___x_y_")
    }
}

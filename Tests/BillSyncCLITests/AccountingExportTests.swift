import BillSyncCore
import BillSyncTestSupport
import Foundation
import Testing

/// The journal, beancount and FOCUS exports, checked by the real tools.
@Suite struct AccountingExportTests {
    static let tools = ["hledger", "ledger", "bean-check"]

    static func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    func tool(_ name: String) throws -> String {
        try #require(Self.which(name), "\(name) is not installed (scripts/install-deps installs it)")
    }

    func syncedWorkspace(hostile: Bool, exports: String = "\"csv\", \"ledger\", \"beancount\", \"focus\"") throws
        -> (SimHarness, Workspace)
    {
        let sim = try SimHarness {
            $0.hostileText = hostile
            $0.typesenseInvoices = 40
            $0.historyDays = 100
        }
        let ws = try Workspace(sim: sim)
        try ws.writeConfig()
        var text = try String(contentsOfFile: ws.configPath, encoding: .utf8)
        text = text.replacingOccurrences(
            of: "exports = [\"csv\"]", with: "exports = [\(exports)]")
        try text.write(toFile: ws.configPath, atomically: true, encoding: .utf8)
        let run = try ws.billsync(["sync"])
        #expect(run.status == 0, "\(run.stderr)")
        return (sim, ws)
    }

    @Test(arguments: [false, true])
    func theRealToolsAcceptTheExports(hostile: Bool) throws {
        let (_, ws) = try syncedWorkspace(hostile: hostile)
        let journal = ws.exportDir + "/billsync.journal"
        let hledger = try runProcess(try tool("hledger"), ["-f", journal, "check", "-s", "ordereddates", "payees"])
        #expect(hledger.status == 0, "\(hledger.stderr)")
        #expect(hledger.stderr.isEmpty, "\(hledger.stderr)")
        let ledger = try runProcess(try tool("ledger"), ["-f", journal, "--pedantic", "bal"])
        #expect(ledger.status == 0, "\(ledger.stderr)")
        #expect(ledger.stderr.isEmpty, "\(ledger.stderr)")
        let bean = try runProcess(try tool("bean-check"), [ws.exportDir + "/billsync.beancount"])
        #expect(bean.status == 0, "\(bean.stdout)\(bean.stderr)")
        #expect(bean.stdout.isEmpty && bean.stderr.isEmpty, "\(bean.stdout)\(bean.stderr)")
    }

    /// `hledger bal -O csv`: account → amount per currency.
    func balances(_ journal: String, _ query: [String] = []) throws -> [String: [String: ExactDecimal]] {
        let r = try runProcess(try tool("hledger"), ["-f", journal, "bal", "-O", "csv", "-N", "--flat"] + query)
        #expect(r.status == 0, "\(r.stderr)")
        var out: [String: [String: ExactDecimal]] = [:]
        for row in CSV.rows(r.stdout.replacingOccurrences(of: "\n", with: "\r\n")).dropFirst() where row.count == 2 {
            for part in row[1].split(separator: ",") {
                let bits = part.trimmingCharacters(in: .whitespaces).split(separator: " ")
                guard bits.count == 2 else { continue }
                out[row[0], default: [:]][String(bits[1])] = decimal(String(bits[0]))
            }
        }
        return out
    }

    @Test func balancesReadBackMatchTheInvoices() throws {
        let (_, ws) = try syncedWorkspace(hostile: false)
        let journal = ws.exportDir + "/billsync.journal"
        let invoices = try ws.csv("invoices.csv")
        let lines = try ws.csv("line_items.csv")
        let bal = try balances(journal)
        let vendorOf = ["northflank": "Northflank", "typesense-cloud": "TypesenseCloud", "usageflow": "UsageFlow"]
        var openTotal: [String: [String: ExactDecimal]] = [:]
        var allTotal: [String: ExactDecimal] = [:]
        var credits: [String: [String: ExactDecimal]] = [:]
        for inv in invoices {
            let vendor = vendorOf[inv["provider"]!]!
            let currency = inv["currency"]!
            allTotal[currency, default: .zero] += decimal(inv["total"]!)
            credits[vendor, default: [:]][currency, default: .zero] += decimal(inv["credits_applied"]!)
            if inv["status"] != "paid" {
                openTotal[vendor, default: [:]][currency, default: .zero] += decimal(inv["total"]!)
            }
        }
        var purchases: [String: [String: ExactDecimal]] = [:]
        for line in lines where line["line_type"] == "prepaid-credit-purchase" {
            purchases[vendorOf[line["provider"]!]!, default: [:]][line["currency"]!, default: .zero] += decimal(
                line["amount"]!)
        }
        #expect(!openTotal.isEmpty)
        #expect(!purchases.isEmpty, "the data set should include prepaid credit purchases")
        for vendor in ["Northflank", "TypesenseCloud", "UsageFlow"] {
            // Liabilities carry a negative balance: what is still owed.
            let payable = bal["Liabilities:AccountsPayable:\(vendor)"] ?? [:]
            let owed = (openTotal[vendor] ?? [:]).filter { !$0.value.isZero }
            #expect(payable.mapValues { -$0 }.filter { !$0.value.isZero } == owed, "\(vendor) payable")
        }
        // Expenses plus prepaid purchases equal all invoice totals.
        var expensesPlusPrepaid: [String: ExactDecimal] = [:]
        for (account, amounts) in bal where account.hasPrefix("Expenses:") {
            for (c, a) in amounts { expensesPlusPrepaid[c, default: .zero] += a }
        }
        for (_, amounts) in purchases { for (c, a) in amounts { expensesPlusPrepaid[c, default: .zero] += a } }
        #expect(expensesPlusPrepaid == allTotal)
        // Prepaid balance equals purchases minus credits applied.
        let prepaid = (bal["Assets:Prepaid:TypesenseCloud"] ?? [:])
        let expected = (purchases["TypesenseCloud"]?["USD"] ?? .zero) - (credits["TypesenseCloud"]?["USD"] ?? .zero)
        #expect((prepaid["USD"] ?? .zero) == expected)
    }

    static let focusMandatory = [
        "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId", "BillingAccountName",
        "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd", "ChargeCategory", "ChargeClass",
        "ChargeDescription",
        "ChargeFrequency", "ChargePeriodStart", "ChargePeriodEnd", "InvoiceId", "InvoiceIssuerName", "ProviderName",
        "PublisherName", "PricingQuantity", "PricingUnit", "ServiceCategory", "ServiceName", "ServiceSubcategory",
        "ResourceId",
    ]
    static let focusNonNull = [
        "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId", "BillingAccountName",
        "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd", "ChargeCategory", "ChargeDescription",
        "ChargePeriodStart", "ChargePeriodEnd", "InvoiceIssuerName", "ProviderName", "PublisherName", "ServiceCategory",
        "ServiceName", "ServiceSubcategory",
    ]

    @Test func focusFilesHaveTheColumnsFormatsAndTotals() throws {
        let (_, ws) = try syncedWorkspace(hostile: true)
        let names = try FileManager.default.contentsOfDirectory(atPath: ws.exportDir + "/focus").sorted()
        #expect(names.count >= 3)
        var billed: [String: ExactDecimal] = [:]
        var rows = 0
        for name in names {
            #expect(name.range(of: #"^\d{4}-\d{2}\.csv$"#, options: .regularExpression) != nil)
            let all = CSV.rows(try ws.read("focus/" + name))
            let header = try #require(all.first)
            #expect(Array(header.prefix(Self.focusMandatory.count)) == Self.focusMandatory)
            #expect(header.dropFirst(Self.focusMandatory.count).allSatisfy { $0.hasPrefix("x_") })
            for values in all.dropFirst() {
                let row = Dictionary(uniqueKeysWithValues: zip(header, values))
                rows += 1
                for column in Self.focusNonNull { #expect(!(row[column] ?? "").isEmpty, "\(name): \(column) is empty") }
                for column in ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost"] {
                    #expect(
                        row[column]!.range(of: #"^-?\d+\.\d{2,}$"#, options: .regularExpression) != nil,
                        "\(column)=\(row[column]!)")
                }
                for column in ["BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"] {
                    #expect(
                        row[column]!.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"#, options: .regularExpression)
                            != nil)
                }
                #expect(["Usage", "Purchase", "Tax", "Credit", "Adjustment"].contains(row["ChargeCategory"]!))
                #expect(UTC.month(UTC.parse(row["BillingPeriodStart"]!)!) + ".csv" == name)
                billed[row["x_Source"]! + "/" + row["InvoiceId"]!, default: .zero] += decimal(row["BilledCost"]!)
            }
        }
        let invoices = try ws.csv("invoices.csv")
        #expect(billed.count == invoices.count)
        for inv in invoices {
            #expect(
                billed[inv["source"]! + "/" + inv["invoice_id"]!] == decimal(inv["total"]!), "\(inv["invoice_id"]!)")
        }
        #expect(rows == (try ws.csv("line_items.csv")).count)
    }

    @Test func reExportingIsByteIdenticalAndWritesNothing() throws {
        let (_, ws) = try syncedWorkspace(hostile: false)
        let before = try ws.exportContents()
        let times = try ws.mtimes()
        Thread.sleep(forTimeInterval: 1.1)
        let r = try ws.billsync(["export"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try ws.exportContents() == before)
        #expect(try ws.mtimes() == times)
        #expect(before.keys.contains("billsync.journal") && before.keys.contains("billsync.beancount"))
    }
}

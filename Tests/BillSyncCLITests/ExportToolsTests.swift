import BillSyncCore
import BillSyncTestSupport
import Foundation
import Testing

/// The exports as the tools their readers use take them: the FinOps Foundation's FOCUS
/// validator and fava, on the normal and the hostile syncs.
@Suite struct ExportToolsTests {
    /// The validator's rules that fail on billsync's FOCUS files because of the validator itself;
    /// README "FOCUS" quotes the spec for each.
    static let validatorLimits: Set<String> = ["EffectiveCost-C-005-C", "InvoiceId-C-004-C"]
    /// The validator reads FOCUS's string handling as ASCII only; the hostile sync's descriptions
    /// are not (README "FOCUS").
    static let validatorLimitsOnUnicode: Set<String> = ["ChargeDescription-C-000-M", "ChargeDescription-C-002-M"]

    /// Every `focus/*.csv` as one file (one header), as the validator reads a dataset.
    static func concatenatedFOCUS(_ ws: Workspace) throws -> String {
        let dir = ws.exportDir + "/focus"
        var out = ""
        for (i, name) in try FileManager.default.contentsOfDirectory(atPath: dir).sorted().enumerated() {
            var lines = try String(contentsOfFile: dir + "/" + name, encoding: .utf8).components(separatedBy: "\r\n")
            if i > 0 { lines.removeFirst() }
            out += lines.filter { !$0.isEmpty }.joined(separator: "\r\n") + "\r\n"
        }
        let path = ws.root + "/focus-all.csv"
        try out.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(arguments: [false, true])
    func theFOCUSValidatorFailsOnlyItsOwnLimits(hostile: Bool) throws {
        let (_, ws) = try AccountingExportTests().syncedWorkspace(hostile: hostile)
        let data = try Self.concatenatedFOCUS(ws)
        let run = try runProcess(
            try installedTool("focus-validator"),
            ["--data-file", data, "--validate-version", "1.2", "--block-download"])
        let summary = try #require(
            run.stdout.firstMatch(of: /Total: (\d+) \| Pass: (\d+) \| Fail: (\d+)/), "\(run.stdout)\(run.stderr)")
        let failed = Set(run.stdout.matches(of: /❌ ([A-Za-z]+-[A-Z]-\d{3}-[A-Z]): FAIL/).map { String($0.output.1) })
        let expected = hostile ? Self.validatorLimits.union(Self.validatorLimitsOnUnicode) : Self.validatorLimits
        #expect(failed == expected, "\(run.stdout.suffix(3000))")
        #expect(Int(summary.output.3) == expected.count)
        #expect((Int(summary.output.2) ?? 0) > 100, "the rules that apply pass: \(summary.output.0)")
    }

    @Test(arguments: [false, true])
    func favaServesTheBooksWithoutErrors(hostile: Bool) throws {
        let (_, ws) = try AccountingExportTests().syncedWorkspace(hostile: hostile)
        let port = freeLoopbackPort()
        let fava = try startProcess(
            try installedTool("fava"),
            ["--host", "127.0.0.1", "--port", String(port), ws.exportDir + "/billsync.beancount"])
        defer {
            kill(fava.process.processIdentifier, SIGKILL)  // fava does not end on SIGTERM
            fava.process.waitUntilExit()
        }
        // curl: it waits for fava to listen, then for it to load the books.
        func get(_ path: String) throws -> (status: Int, body: String) {
            let r = try runProcess(
                "/usr/bin/curl",
                [
                    "-sS", "-m", "60", "--retry", "120", "--retry-connrefused", "--retry-delay", "1", "-w",
                    "\n%{http_code}",
                    "http://127.0.0.1:\(port)" + path,
                ])
            let body = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            return (Int(body.last ?? "") ?? 0, body.dropLast().joined(separator: "\n"))
        }
        let errors = try get("/billsync/api/errors")
        #expect(errors.status == 200, "fava: \(errors.body) \(fava.process.isRunning ? "" : fava.result().stderr)")
        let json = JSONField(try JSONValue.parse(errors.body))
        guard case .array(let list) = try json.require("data").value else {
            Issue.record("no error list: \(errors.body)")
            return
        }
        #expect(list.isEmpty, "fava reports: \(errors.body)")
        #expect(try get("/billsync/income_statement/").status == 200)
    }
}

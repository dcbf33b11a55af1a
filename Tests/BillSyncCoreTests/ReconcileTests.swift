import BillSyncCore
import Testing

@Suite struct ReconcileTests {
    func line(_ amount: String) throws -> LineItem {
        LineItem(lineType: "node", category: .usage, description: "n", amount: try ExactDecimal(parsing: amount))
    }

    @Test func linesThatSumNeedNoAdjustment() throws {
        let r = Normalization.reconcile([try line("1.10"), try line("2.20")], total: try ExactDecimal(parsing: "3.3"))
        #expect(r.difference == nil)
        #expect(r.lines.map(\.lineNo) == [1, 2])
    }

    @Test func aDifferenceBecomesAnAdjustmentLine() throws {
        let r = Normalization.reconcile([try line("10.00"), try line("5.00")], total: try ExactDecimal(parsing: "14"))
        #expect(r.difference?.description == "-1.00")
        #expect(r.lines.count == 3)
        #expect(r.lines[2].lineType == "adjustment")
        #expect(r.lines[2].category == .adjustment)
        #expect(r.lines.reduce(ExactDecimal.zero) { $0 + $1.amount } == (try ExactDecimal(parsing: "14")))
    }

    @Test func anInvoiceWithoutLinesGetsOne() throws {
        let r = Normalization.reconcile([], total: .zero)
        #expect(r.lines.count == 1)
        #expect(r.difference == nil)
    }
}

/// Rules shared by every provider mapping (SPEC §5).
public enum Normalization {
    /// Half-open periods: an inclusive end (`…:59:59`) gets one second added.
    public static func exclusiveEnd(_ end: Int64) -> Int64 {
        end % 60 == 59 ? end + 1 : end
    }

    /// The difference between an invoice's lines and its total, if any, as one more line.
    ///
    /// Lines are numbered from 1 in the order given. Money is never dropped or invented:
    /// the returned lines always sum exactly to `total`, and `difference` says what was added.
    public static func reconcile(_ lines: [LineItem], total: ExactDecimal) -> (
        lines: [LineItem], difference: ExactDecimal?
    ) {
        var result = lines
        let sum = lines.reduce(ExactDecimal.zero) { $0 + $1.amount }
        var difference: ExactDecimal?
        if sum != total || lines.isEmpty {
            let diff = total - sum
            difference = sum != total ? diff : nil
            result.append(
                LineItem(
                    lineType: "adjustment", category: .adjustment,
                    description: "Difference between the invoice total and its lines",
                    amount: diff))
        }
        for i in result.indices { result[i].lineNo = i + 1 }
        return (result, difference)
    }
}

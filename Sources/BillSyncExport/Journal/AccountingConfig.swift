/// Journal account names (`[accounting]` in the config).
public struct AccountingConfig: Sendable, Equatable {
    public var payableAccount = "Liabilities:AccountsPayable"
    public var expenseAccount = "Expenses:Cloud"
    public var paymentAccount = "Assets:Bank:Checking"
    public var prepaidAccount = "Assets:Prepaid"
    public init() {}
}

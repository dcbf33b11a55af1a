/// Journal account names (`[accounting]` in the config).
public struct AccountingConfig: Sendable, Equatable {
    public var payableAccount = "Liabilities:AccountsPayable"
    public var expenseAccount = "Expenses:Cloud"
    public var paymentAccount = "Assets:Bank:Checking"
    public var prepaidAccount = "Assets:Prepaid"
    /// Where usage not yet invoiced is booked at month end (`accrued_account`).
    public var accruedAccount = "Liabilities:Accrued"
    /// beancount's `operating_currency` options (what fava reports in): `operating_currencies`
    /// if the config sets it, else every source's currency; the ledger's own currencies are
    /// added at export.
    public var operatingCurrencies: [String] = []
    /// Whether `operating_currencies` came from the config (then it is used as it is).
    public var operatingCurrenciesSet = false
    public init() {}
}

import Synchronization

/// What the control API changed in the generated world: invoice statuses set by hand and
/// invoices added at the head of a list. Small, whatever the data sizes.
final class InvoiceChanges: Sendable {
    /// An immutable copy that one request is answered from.
    struct Snapshot: Sendable {
        fileprivate var statuses: [String: String] = [:]
        fileprivate var added: [String: Int] = [:]

        func status(_ provider: SimulatedProvider, id: String) -> String? {
            statuses[provider.rawValue + "/" + id]
        }

        /// How many invoices were added to the head of `account`'s list.
        func added(_ provider: SimulatedProvider, account: String) -> Int {
            added[provider.rawValue + "/" + account] ?? 0
        }
    }

    private let state = Mutex(Snapshot())

    func snapshot() -> Snapshot {
        state.withLock { $0 }
    }

    func setStatus(_ provider: SimulatedProvider, id: String, to value: String) {
        state.withLock { $0.statuses[provider.rawValue + "/" + id] = value }
    }

    func addInvoices(_ provider: SimulatedProvider, account: String, count: Int) {
        state.withLock { $0.added[provider.rawValue + "/" + account, default: 0] += count }
    }
}

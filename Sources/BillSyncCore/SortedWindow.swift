/// The amounts of a window that slides forward over a series, kept in ascending order: each
/// amount is added once as the window reaches it and removed once as the window leaves it,
/// oldest first. A running median (the usage spike check's) then costs a binary search and a
/// shift per step, not a sort of the whole window.
///
///     var window = SortedWindow()
///     window.add(hour.total)            // the newest hour comes in
///     window.removeOldest(old.total)    // the oldest hour leaves
///     window.amounts[window.count / 2]
///
/// Equal amounts (such as `1.5` and `1.50`) stay in the order they were added, as a stable
/// sort of the window would leave them.
public struct SortedWindow: Sendable {
    public private(set) var amounts: [ExactDecimal] = []

    public init() {}

    public var count: Int { amounts.count }

    /// Adds an amount after every amount not greater than it.
    public mutating func add(_ amount: ExactDecimal) {
        amounts.insert(amount, at: firstIndex { amount < $0 })
    }

    /// Removes the earliest added of the amounts equal to `amount`, which is the oldest in the
    /// window when the window leaves its amounts in the order it took them in. The amount must
    /// be in the window.
    public mutating func removeOldest(_ amount: ExactDecimal) {
        let index = firstIndex { !($0 < amount) }
        precondition(index < amounts.count && amounts[index] == amount, "\(amount) is not in the window")
        amounts.remove(at: index)
    }

    /// The first index whose amount satisfies `isAtOrAfter`, which holds from some index on.
    private func firstIndex(where isAtOrAfter: (ExactDecimal) -> Bool) -> Int {
        var low = 0
        var high = amounts.count
        while low < high {
            let mid = (low + high) / 2
            if isAtOrAfter(amounts[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}

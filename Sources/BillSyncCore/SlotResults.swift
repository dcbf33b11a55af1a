import Synchronization

/// Where work run side by side leaves its results: one slot per piece, read once every piece
/// is done.
public final class SlotResults<T: Sendable>: Sendable {
    private let slots: Mutex<[T?]>

    public init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }

    public func set(_ i: Int, _ value: T) { slots.withLock { $0[i] = value } }

    /// Every slot's result, in slot order; only once every slot is set.
    public var all: [T] { slots.withLock { $0.map { $0! } } }
}

import Synchronization

/// Set once when the process is asked to stop; long waits poll it so that a stop
/// request ends them within a fraction of a second.
public final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public var isSet: Bool { flag.load(ordering: .acquiring) }

    public func set() { flag.store(true, ordering: .releasing) }
}

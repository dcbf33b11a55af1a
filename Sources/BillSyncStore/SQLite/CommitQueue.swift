import CSQLite
import Foundation

/// A write waiting on the commit queue: `run` does it inside the group's transaction and
/// returns what it threw; `finish` reports it once the transaction is over (with the error
/// that undid it, if any).
struct QueuedWrite {
    let run: (Database) -> (any Error)?
    let finish: ((any Error)?) -> Void
}

/// What a queued write returned, kept until its transaction commits.
final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

/// A write handed to the store's commit queue.
public final class PendingCommit<Value: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<Value, any Error>?

    func finish(_ result: Result<Value, any Error>) {
        condition.lock()
        self.result = result
        condition.broadcast()
        condition.unlock()
    }

    /// Returns once the write is committed, with what it returned; throws what stopped it
    /// (then nothing of it is kept).
    @discardableResult
    public func wait() throws -> Value {
        condition.lock()
        while result == nil { condition.wait() }
        let result = self.result!
        condition.unlock()
        return try result.get()
    }
}

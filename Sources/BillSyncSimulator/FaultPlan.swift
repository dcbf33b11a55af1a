import Synchronization

/// A fault the control API queued for provider requests under a path prefix.
struct Fault: Sendable {
    enum Kind: String, Sendable, CaseIterable {
        /// HTTP `code`, body in the provider's error format carrying `message`.
        case status
        /// 200 with a body that is not JSON.
        case malformed
        /// `Content-Length` of the full body, half the body, then the connection closes.
        case truncated
        case missingField = "missing-field"
        case wrongType = "wrong-type"
        case repeatCursor = "repeat-cursor"
        /// 200 with the same values in neighbouring JSON types: amounts as strings holding the
        /// same decimal, unix times as integral floats (see `BodyRewrite`).
        case looseTypes = "loose-types"
        /// 200 without any member named in `field` (comma-separated), at any depth (`field=id`:
        /// invoices without an id).
        case omit
        /// 429 with `Retry-After: value` seconds.
        case retryAfter = "retry-after"
        /// 429 with `Retry-After` as the HTTP date `value` seconds ahead.
        case retryAfterDate = "retry-after-date"
        /// 429 with `x-ratelimit-reset: value` and `x-ratelimit-remaining: 0`, no `Retry-After`.
        case ratelimitReset = "ratelimit-reset"
        /// Another client of the same key has used the window: after this request (answered as
        /// usual) `x-ratelimit-remaining` is `allow`, and the other client's requests leave the
        /// window `value` seconds later, which `x-ratelimit-reset` then says. Enforced with
        /// `--rate-limits`; for providers that advertise their window (Northflank).
        case ratelimitShared = "ratelimit-shared"
        /// The connection closes without an answer.
        case reset
        /// The answer comes `value` milliseconds late.
        case stall
        /// Valid JSON padded with whitespace to `value` bytes.
        case oversize

        /// How the provider itself must spoil the body for this fault.
        var bodyMutation: BodyMutation {
            switch self {
            case .missingField: .missingField
            case .wrongType: .wrongType
            case .repeatCursor: .repeatCursor
            default: .none
            }
        }

        /// `value` when the request leaves it out.
        var defaultValue: Int {
            switch self {
            case .stall: 1_000
            case .oversize: 1_048_576
            default: 1
            }
        }
    }

    /// Matched against the request path, or against `PATH?QUERY` when it holds a `?`.
    var pathPrefix: String
    var kind: Kind
    /// Matching requests still to be faulted.
    var remaining: Int
    /// Matching requests still to be let through first.
    var skip: Int
    var code: Int
    var value: Int
    /// Requests the window still allows, for `ratelimit-shared`.
    var allow: Int
    /// The member `omit` leaves out.
    var field: String?
    var message: String?

    func matches(_ request: HTTPRequest) -> Bool {
        (pathPrefix.contains("?") ? request.target : request.path).hasPrefix(pathPrefix)
    }
}

/// The queue of pending faults, and the cursors a `repeat-cursor` fault promised to repeat.
///
/// Each queued fault counts the matching requests it sees; a request gets at most one
/// fault, the first in queue order whose `skip` has run out.
final class FaultPlan: Sendable {
    private struct State {
        var queue: [Fault] = []
        var repeatingCursors: Set<String> = []
    }

    private let state = Mutex(State())

    func enqueue(_ fault: Fault) {
        state.withLock { $0.queue.append(fault) }
    }

    /// Removes every pending fault and promised cursor; returns how many faults were pending.
    func clear() -> Int {
        state.withLock { state in
            let count = state.queue.count
            state = State()
            return count
        }
    }

    func pending() -> [Fault] {
        state.withLock { $0.queue }
    }

    /// The fault this provider request gets, if any; advances every matching fault's count.
    func take(for request: HTTPRequest) -> Fault? {
        state.withLock { state in
            guard !state.queue.isEmpty else { return nil }
            var chosen: Fault?
            for index in state.queue.indices where state.queue[index].matches(request) {
                if state.queue[index].skip > 0 {
                    state.queue[index].skip -= 1
                } else if chosen == nil {
                    chosen = state.queue[index]
                    state.queue[index].remaining -= 1
                }
            }
            state.queue.removeAll { $0.remaining <= 0 }
            return chosen
        }
    }

    /// Promises that the next request bringing `cursor` gets `cursor` back.
    func repeatCursor(_ cursor: String) {
        state.withLock { _ = $0.repeatingCursors.insert(cursor) }
    }

    /// Whether `cursor` was promised to repeat (the promise is kept once).
    func takeRepeatingCursor(_ cursor: String) -> Bool {
        state.withLock { $0.repeatingCursors.remove(cursor) != nil }
    }
}

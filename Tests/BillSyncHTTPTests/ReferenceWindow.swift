import BillSyncCore
import BillSyncTestSupport
import Foundation
import Testing

@testable import BillSyncHTTP

/// The server's own rule, written as plainly as possible: a sorted list of answer times, the
/// requests still in flight, the newest `x-ratelimit-*` statement and the last 429's wait.
/// A request counts for exactly `period` after its answer (no margin: the margin is the
/// window's own slack, allowed on top of what this model requires).
struct ReferenceWindow {
    let requests: Int
    let period: Double
    var answers: [Double] = []
    var inFlight: Set<Int> = []
    var granted = 0
    var pausedUntil = -Double.infinity
    var statement: (grant: Int, remaining: Int, until: Double)?
    var statedLimit: Int?

    var limit: Int { min(requests, statedLimit ?? Int.max) }

    /// Whether a request sent at `t` keeps every rule, if nothing is answered meanwhile.
    func allows(_ t: Double) -> Bool {
        if t < pausedUntil { return false }
        if let s = statement, t < s.until, granted - s.grant - 1 >= s.remaining { return false }
        return inFlight.count + answers.filter { $0 + period > t }.count < limit
    }

    /// The shortest wait after `t` that ``allows(_:)``; nil when only an answer can make room.
    func shortestWait(at t: Double) -> Double? {
        // The instants at which a rule lets go, as instants (not as waits) so that no rounding
        // moves one just before its own limit.
        var instants = [t, pausedUntil] + answers.map { $0 + period }
        if let s = statement { instants.append(s.until) }
        return instants.filter { $0 >= t }.sorted().first { allows($0) }.map { $0 - t }
    }

    /// What the 429 and the server's statement alone require at `t`.
    func statedWait(at t: Double) -> Double {
        var wait = pausedUntil - t
        if let s = statement, granted - s.grant - 1 >= s.remaining { wait = max(wait, s.until - t) }
        return wait
    }

    mutating func grant() -> Int {
        granted += 1
        inFlight.insert(granted - 1)
        return granted - 1
    }

    mutating func answer(_ grant: Int, at t: Double, server: ServerWindow?, wait: Double?) {
        inFlight.remove(grant)
        // Time only goes forward: an answer that has left the window at `t` is out of every later one.
        answers = (answers + [t]).filter { $0 + period > t }.sorted()
        if let server, (statement?.grant ?? -1) < grant {
            statement = (grant, server.remaining, t + server.reset)
            if let l = server.limit { statedLimit = l }
        }
        if let wait { pausedUntil = max(pausedUntil, t + wait) }
    }
}

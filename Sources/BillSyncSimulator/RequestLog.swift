import Glibc
import Synchronization

/// Counts and lists provider requests (never `/_sim/` ones): per endpoint template, per
/// status, and one log line per request in arrival order.
final class RequestLog: Sendable {
    /// A request counted on arrival whose status is filled in when it is answered.
    struct Ticket: Sendable {
        fileprivate let sequence: Int
    }

    private struct Line {
        let request: String
        /// Milliseconds after the log was made, on the monotonic clock.
        let arrivedMs: Int64
        var status: Int?
    }

    private struct State {
        var total = 0
        var endpoints: [String: Int] = [:]
        var statuses: [Int: Int] = [:]
        var lines: [Line] = []
        /// Sequence number of `lines[0]`; the oldest half is dropped past `maxLines`.
        var firstSequence = 0
        var nextSequence = 0
    }

    private static let maxLines = 1_000_000
    private let state = Mutex(State())
    private let origin = RequestLog.monotonicMilliseconds()

    private static func monotonicMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000 + Int64(now.tv_nsec) / 1_000_000
    }

    func arrive(method: String, target: String, endpoint: String) -> Ticket {
        let arrived = Self.monotonicMilliseconds() - origin
        return state.withLock { state in
            state.total += 1
            state.endpoints[endpoint, default: 0] += 1
            if state.lines.count >= Self.maxLines {
                state.lines.removeFirst(Self.maxLines / 2)
                state.firstSequence += Self.maxLines / 2
            }
            state.lines.append(Line(request: method + " " + target, arrivedMs: arrived, status: nil))
            state.nextSequence += 1
            return Ticket(sequence: state.nextSequence - 1)
        }
    }

    /// `status` 0 means the connection was closed without an answer.
    func complete(_ ticket: Ticket, status: Int) {
        state.withLock { state in
            let index = ticket.sequence - state.firstSequence
            guard state.lines.indices.contains(index) else { return }
            state.lines[index].status = status
            state.statuses[status, default: 0] += 1
        }
    }

    func reset() {
        state.withLock { state in
            state = State(firstSequence: state.nextSequence, nextSequence: state.nextSequence)
        }
    }

    /// `{"total":N,"endpoints":{...},"statuses":{"200":N,...}}`, keys sorted.
    func summary() -> JSONText {
        let (total, endpoints, statuses) = state.withLock { ($0.total, $0.endpoints, $0.statuses) }
        var json = JSONText()
        json.beginObject()
        json.field("total", total)
        json.key("endpoints")
        json.beginObject()
        for (endpoint, count) in endpoints.sorted(by: { $0.key < $1.key }) {
            json.key(named: endpoint)
            json.integer(Int64(count))
        }
        json.endObject()
        json.key("statuses")
        json.beginObject()
        for (status, count) in statuses.sorted(by: { $0.key < $1.key }) {
            json.key(named: Self.statusText(status))
            json.integer(Int64(count))
        }
        json.endObject()
        json.endObject()
        return json
    }

    /// `STATUS METHOD PATH?QUERY` per line; `000` when nothing was answered, `...` while pending.
    /// With `times`, each line starts with the milliseconds from the simulator's start to the
    /// request's arrival: `MS STATUS METHOD PATH?QUERY`.
    func text(times: Bool = false) -> [UInt8] {
        let lines = state.withLock { $0.lines }
        var out: [UInt8] = []
        out.reserveCapacity(lines.count * 64)
        for line in lines {
            if times {
                out.append(contentsOf: String(line.arrivedMs).utf8)
                out.append(UInt8(ascii: " "))
            }
            out.append(contentsOf: (line.status.map(Self.statusText) ?? "...").utf8)
            out.append(UInt8(ascii: " "))
            out.append(contentsOf: line.request.utf8)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    private static func statusText(_ status: Int) -> String {
        status == 0 ? "000" : String(status)
    }
}

import Synchronization

/// A chat webhook's receiving end, for billsync's alerts: `POST /_sim/alerts` keeps the body
/// and answers 200, or the status `POST /_sim/alerts/status?code=C[&count=N]` set (for the
/// next N posts, or until set again); `GET /_sim/alerts` returns the kept bodies, one per line;
/// `GET /_sim/alerts/attempts` counts every post, answered with an error or not.
final class AlertInbox: Sendable {
    private struct State {
        var bodies: [[UInt8]] = []
        var attempts = 0
        var failStatus: Int?
        var failCount: Int?
    }

    private let state = Mutex(State())
    static let maxBody = 64 * 1024

    func respond(to request: HTTPRequest, _ path: [String]) throws(RequestRejection) -> HTTPResponse {
        switch (request.method, path) {
        case ("POST", []):
            guard request.body.count <= Self.maxBody else { throw RequestRejection(status: 413, message: "too large") }
            let status = state.withLock { s -> Int in
                s.attempts += 1
                if let code = s.failStatus {
                    if let n = s.failCount {
                        s.failCount = n - 1
                        if n - 1 <= 0 { (s.failStatus, s.failCount) = (nil, nil) }
                    }
                    return code
                }
                s.bodies.append(request.body)
                return 200
            }
            return HTTPResponse(status: status, body: Array("ok\n".utf8), contentType: "text/plain; charset=utf-8")
        case ("POST", ["status"]):
            guard let code = request.parameters["code"].flatMap(Int.init), (200...599).contains(code) else {
                throw RequestRejection(status: 400, message: "code must be an HTTP status from 200 to 599")
            }
            let count = request.parameters["count"].flatMap(Int.init)
            state.withLock { s in (s.failStatus, s.failCount) = code == 200 ? (nil, nil) : (code, count) }
            return .json(200, .object { $0.field("status", code) })
        case ("GET", []):
            let text = state.withLock { s in s.bodies.map { String(decoding: $0, as: UTF8.self) + "\n" }.joined() }
            return HTTPResponse(status: 200, body: Array(text.utf8), contentType: "application/x-ndjson")
        case ("GET", ["attempts"]):
            return .json(200, .object { $0.field("attempts", state.withLock { $0.attempts }) })
        default:
            throw RequestRejection(
                status: 404, message: "use POST /_sim/alerts, POST /_sim/alerts/status?code=C, GET /_sim/alerts")
        }
    }
}

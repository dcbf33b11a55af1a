/// One parsed HTTP/1.1 request.
struct HTTPRequest: Sendable {
    let method: String
    /// The path without the query, still percent-encoded.
    let path: String
    /// The raw query, without the `?`.
    let query: String
    /// Header names lowercased; a repeated header keeps its last value.
    let headers: [String: String]
    let body: [UInt8]
    /// Decoded query parameters; a repeated name keeps its last value.
    let parameters: [String: String]
    /// Path segments, percent-decoded.
    let pathSegments: [String]

    init(method: String, target: String, headers: [String: String], body: [UInt8] = []) {
        self.method = method
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts[0])
        query = parts.count > 1 ? String(parts[1]) : ""
        self.headers = headers
        self.body = body
        parameters = Self.decodeQuery(query)
        pathSegments = path.split(separator: "/").map { Self.percentDecode($0, plusIsSpace: false) }
    }

    /// `PATH?QUERY`, as the request line carried it.
    var target: String {
        query.isEmpty ? path : path + "?" + query
    }

    static func decodeQuery(_ query: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let nameAndValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecode(nameAndValue[0], plusIsSpace: true)
            result[name] = nameAndValue.count > 1 ? percentDecode(nameAndValue[1], plusIsSpace: true) : ""
        }
        return result
    }

    static func percentDecode(_ text: Substring, plusIsSpace: Bool) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) || (plusIsSpace && text.utf8.contains(UInt8(ascii: "+"))) else {
            return String(text)
        }
        var bytes: [UInt8] = []
        var input = Array(text.utf8)[...]
        while let byte = input.popFirst() {
            if byte == UInt8(ascii: "%"), input.count >= 2,
                let high = hexValue(input[input.startIndex]), let low = hexValue(input[input.startIndex + 1])
            {
                bytes.append(high << 4 | low)
                input = input.dropFirst(2)
            } else if byte == UInt8(ascii: "+") && plusIsSpace {
                bytes.append(UInt8(ascii: " "))
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `text` without the spaces and tabs around it (HTTP's optional whitespace).
    static func trimmingWhitespace(_ text: Substring) -> String {
        let utf8 = text.utf8
        let isWhitespace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = utf8.firstIndex(where: { !isWhitespace($0) }),
            let last = utf8.lastIndex(where: { !isWhitespace($0) })
        else { return "" }
        return String(text[first...last])
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// One HTTP response, and how the server is to deliver it (faults can cut it short).
struct HTTPResponse: Sendable {
    enum Delivery: Sendable {
        case complete
        /// Announce the full `Content-Length`, send half the body, close the connection.
        case truncateThenClose
        /// Close the connection (with a TCP reset) without answering at all.
        case resetWithoutAnswer
    }

    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    var delivery = Delivery.complete

    init(
        status: Int, headers: [(name: String, value: String)] = [], body: [UInt8],
        contentType: String = "application/json"
    ) {
        self.status = status
        self.headers = [("Content-Type", contentType)] + headers
        self.body = body
    }

    static func json(_ status: Int, _ json: JSONText) -> HTTPResponse {
        HTTPResponse(status: status, body: json.bytes)
    }

    /// `{"<field>":"<message>"}`: UsageFlow's, Typesense's and the simulator's own error shape.
    static func message(_ status: Int, field: StaticString, _ message: String) -> HTTPResponse {
        .json(status, .object { $0.field(field, message) })
    }

    /// `{"error":"message"}`, the simulator's own error shape for `/_sim/` endpoints.
    static func simulatorError(_ status: Int, _ message: String) -> HTTPResponse {
        .message(status, field: "error", message)
    }

    static let resetWithoutAnswer: HTTPResponse = {
        var response = HTTPResponse(status: 0, body: [])
        response.delivery = .resetWithoutAnswer
        return response
    }()

    /// The status as the request log records it: `0` when nothing was answered.
    var loggedStatus: Int {
        delivery == .resetWithoutAnswer ? 0 : status
    }

    func header(_ name: String) -> String? {
        headers.last { $0.name.lowercased() == name.lowercased() }?.value
    }

    mutating func setHeader(_ name: String, _ value: String) {
        headers.removeAll { $0.name.lowercased() == name.lowercased() }
        headers.append((name, value))
    }

    /// Status line and headers, ending with the blank line.
    func head(keepAlive: Bool) -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
        for header in headers {
            text += "\(header.name): \(header.value)\r\n"
        }
        text += "Content-Length: \(body.count)\r\n"
        text += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
        return Array(text.utf8)
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Status \(status)"
        }
    }
}

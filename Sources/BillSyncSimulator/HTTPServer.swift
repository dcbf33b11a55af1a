import Foundation
import Glibc
import Synchronization

/// A minimal HTTP/1.1 server on POSIX sockets: one thread accepts, one thread serves each
/// connection, requests on a connection are answered in order (keep-alive unless the
/// client says `Connection: close`), responses always carry `Content-Length`.
///
/// Thread-safety: `handler` is called concurrently from connection threads.
final class HTTPServer: Sendable {
    typealias Handler = @Sendable (HTTPRequest) -> HTTPResponse

    /// The bound port (the kernel's choice when asked for port 0).
    let port: Int
    private let listener: Int32
    private let handler: Handler
    private let connections = Mutex(Connections())
    /// Signalled once the accept thread has closed the listening socket.
    private let listenerClosed = DispatchSemaphore(value: 0)

    private struct Connections {
        var open: Set<Int32> = []
        var stopped = false
    }

    private static let maxHeadBytes = 64 * 1024
    private static let maxBodyBytes = 16 * 1024 * 1024

    /// Binds and listens on `host:port`; nothing is accepted until `start()`.
    init(host: String, port: Int, handler: @escaping Handler) throws(SimulatorError) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var found: UnsafeMutablePointer<addrinfo>?
        let lookup = getaddrinfo(host, String(port), &hints, &found)
        guard lookup == 0, let address = found else {
            throw .cannotListen(host: host, port: port, reason: String(cString: gai_strerror(lookup)))
        }
        defer { freeaddrinfo(found) }
        let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
        guard fd >= 0 else {
            throw .cannotListen(host: host, port: port, reason: String(cString: strerror(errno)))
        }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0, listen(fd, 512) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .cannotListen(host: host, port: port, reason: reason)
        }
        listener = fd
        self.port = Self.boundPort(fd)
        self.handler = handler
    }

    func start() {
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "billsync-sim accept"
        thread.start()
    }

    /// Stops accepting and shuts every open connection down. Returns once the port is
    /// free again, without waiting for requests in progress.
    func stop() {
        let stopping = connections.withLock { state in
            guard !state.stopped else { return false }
            state.stopped = true
            // Wakes the blocked accept(); the accept thread closes the descriptor.
            shutdown(listener, Int32(SHUT_RDWR))
            for fd in state.open {
                shutdown(fd, Int32(SHUT_RDWR))
            }
            return true
        }
        if stopping {
            _ = listenerClosed.wait(timeout: .now() + 5)
        }
    }

    private func acceptLoop() {
        defer {
            close(listener)
            listenerClosed.signal()
        }
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if connections.withLock({ $0.stopped }) { return }
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM {
                    usleep(10_000)
                    continue
                }
                return
            }
            let accepted = connections.withLock { state in
                guard !state.stopped else { return false }
                state.open.insert(fd)
                return true
            }
            guard accepted else {
                close(fd)
                return
            }
            var on: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            let thread = Thread { [self] in serve(fd) }
            thread.name = "billsync-sim connection"
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        var connection = Connection(fd: fd)
        defer {
            connections.withLock { _ = $0.open.remove(fd) }
            close(fd)
        }
        while true {
            let request: HTTPRequest
            let keepAlive: Bool
            switch connection.readRequest(maxHead: Self.maxHeadBytes, maxBody: Self.maxBodyBytes) {
            case .request(let parsed, let persistent):
                request = parsed
                keepAlive = persistent
            case .closed: return
            case .invalid(let status, let message):
                let response = HTTPResponse.simulatorError(status, message)
                _ = connection.write(response.head(keepAlive: false) + response.body)
                return
            }
            let response = handler(request)
            switch response.delivery {
            case .complete:
                let body = request.method == "HEAD" ? [] : response.body
                guard connection.write(response.head(keepAlive: keepAlive) + body), keepAlive else { return }
            case .truncateThenClose:
                _ = connection.write(response.head(keepAlive: false) + response.body.prefix(response.body.count / 2))
                return
            case .resetWithoutAnswer:
                var linger = linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
                return
            }
        }
    }

    private static func boundPort(_ fd: Int32) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
        }
        let family = Int32(storage.ss_family)
        return withUnsafePointer(to: &storage) { pointer in
            if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    Int(UInt16(bigEndian: $0.pointee.sin6_port))
                }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                Int(UInt16(bigEndian: $0.pointee.sin_port))
            }
        }
    }
}

/// The byte stream of one accepted socket: buffered reads, request parsing, full writes.
private struct Connection {
    enum ReadResult {
        /// `keepAlive`: HTTP/1.1 without `Connection: close`, or HTTP/1.0 asking for it.
        case request(HTTPRequest, keepAlive: Bool)
        case closed
        case invalid(status: Int, message: String)
    }

    let fd: Int32
    private var buffer: [UInt8] = []
    private var scanned = 0
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)

    init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(16 * 1024)
    }

    mutating func readRequest(maxHead: Int, maxBody: Int) -> ReadResult {
        var headEnd: Int?
        while headEnd == nil {
            headEnd = findBlankLine()
            if headEnd != nil { break }
            if buffer.count > maxHead { return .invalid(status: 431, message: "request head too large") }
            guard fill() else { return .closed }
        }
        guard let headEnd else { return .closed }
        guard let head = String(validating: buffer[..<headEnd], as: UTF8.self) else {
            return .invalid(status: 400, message: "request head is not UTF-8")
        }
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count == 3, requestLine[2].hasPrefix("HTTP/1.") else {
            return .invalid(status: 400, message: "malformed request line")
        }
        var headers: [String: String] = [:]
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else {
                return .invalid(status: 400, message: "malformed header line")
            }
            headers[line[..<colon].lowercased()] = HTTPRequest.trimmingWhitespace(line[line.index(after: colon)...])
        }
        if headers["transfer-encoding"] != nil {
            return .invalid(status: 411, message: "chunked request bodies are not supported; send Content-Length")
        }
        let bodyLength = Int(headers["content-length"] ?? "0") ?? -1
        guard (0...maxBody).contains(bodyLength) else {
            return .invalid(status: 400, message: "bad Content-Length")
        }
        if bodyLength > 0, headers["expect"]?.lowercased() == "100-continue",
            buffer.count < headEnd + 4 + bodyLength
        {
            _ = write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        }
        while buffer.count < headEnd + 4 + bodyLength {
            guard fill() else { return .closed }
        }
        let body = Array(buffer[(headEnd + 4)..<(headEnd + 4 + bodyLength)])
        buffer.removeFirst(headEnd + 4 + bodyLength)
        scanned = 0
        let tokens = (headers["connection"] ?? "").lowercased()
            .split(separator: ",").map { HTTPRequest.trimmingWhitespace($0) }
        let keepAlive = !tokens.contains("close") && (requestLine[2] != "HTTP/1.0" || tokens.contains("keep-alive"))
        let request = HTTPRequest(
            method: String(requestLine[0]), target: String(requestLine[1]),
            headers: headers, body: body)
        return .request(request, keepAlive: keepAlive)
    }

    /// Sends everything; false when the peer is gone.
    func write(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                sent += n
            }
            return true
        }
    }

    /// Index of the `\r\n\r\n` that ends the head, if it has arrived.
    private mutating func findBlankLine() -> Int? {
        guard buffer.count >= 4 else { return nil }
        var index = max(0, scanned - 3)
        while index + 3 < buffer.count {
            if buffer[index] == 13, buffer[index + 1] == 10, buffer[index + 2] == 13, buffer[index + 3] == 10 {
                return index
            }
            index += 1
        }
        scanned = buffer.count
        return nil
    }

    private mutating func fill() -> Bool {
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            buffer.append(contentsOf: chunk[..<n])
            return true
        }
    }
}

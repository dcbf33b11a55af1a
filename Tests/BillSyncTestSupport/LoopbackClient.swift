import Foundation
import Glibc

/// One HTTP response as it arrived on the wire.
public struct Reply: Sendable {
    public let status: Int
    /// Names lowercased.
    public let headers: [String: String]
    public let body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }
}

public enum ClientError: Error, Equatable {
    case cannotConnect
    /// The server closed the connection without sending a response.
    case closedWithoutResponse
    /// The connection closed before `Content-Length` bytes arrived.
    case truncated(expected: Int, received: Int)
    case malformedResponse
}

/// A tiny HTTP/1.1 client over one keep-alive loopback connection, so that tests see
/// exactly what the server put on the wire (and when it cut a response short).
public final class LoopbackClient {
    public let port: Int
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    /// How many TCP connections this client opened.
    public private(set) var connections = 0

    public init(port: Int) {
        self.port = port
    }

    deinit {
        disconnect()
    }

    public func get(_ target: String, _ headers: [String: String] = [:]) throws -> Reply {
        try send("GET", target, headers)
    }

    public func post(_ target: String) throws -> Reply {
        try send("POST", target, [:])
    }

    public func delete(_ target: String) throws -> Reply {
        try send("DELETE", target, [:])
    }

    public func send(
        _ method: String, _ target: String, _ headers: [String: String], close: Bool = false, body: [UInt8]? = nil
    ) throws -> Reply {
        if fd < 0 { try connect() }
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            head += "\(name): \(value)\r\n"
        }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        if close { head += "Connection: close\r\n" }
        head += "\r\n"
        let bytes = Array(head.utf8) + (body ?? [])
        // All of it, in as many sends as it takes; a server that answers early (413) and stops
        // reading still gets its answer read.
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            sent += n
        }
        guard sent > 0 else {
            disconnect()
            throw ClientError.closedWithoutResponse
        }
        do {
            let reply = try readReply()
            if reply.headers["connection"]?.lowercased() == "close" { disconnect() }
            return reply
        } catch {
            disconnect()
            throw error
        }
    }

    /// Whether the server has closed this connection (reads EOF without blocking long).
    public func serverClosed() -> Bool {
        guard fd >= 0 else { return true }
        var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pollfd, 1, 2_000) > 0 else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK)) <= 0
    }

    public func disconnect() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        buffer = []
    }

    private func connect() throws {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            Glibc.close(socketFD)
            throw ClientError.cannotConnect
        }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(socketFD, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        fd = socketFD
        connections += 1
    }

    private func readReply() throws -> Reply {
        var headEnd: Int?
        while true {
            headEnd = blankLine()
            if headEnd != nil { break }
            guard try fill() else {
                throw buffer.isEmpty ? ClientError.closedWithoutResponse : ClientError.malformedResponse
            }
        }
        guard let headEnd else { throw ClientError.malformedResponse }
        let head = String(decoding: buffer[..<headEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw ClientError.malformedResponse }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "") ?? 0
        let bodyStart = headEnd + 4
        while buffer.count < bodyStart + length {
            guard try fill() else {
                throw ClientError.truncated(expected: length, received: buffer.count - bodyStart)
            }
        }
        let body = Array(buffer[bodyStart..<(bodyStart + length)])
        buffer.removeFirst(bodyStart + length)
        return Reply(status: status, headers: headers, body: body)
    }

    private func blankLine() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for index in 0...(buffer.count - 4)
        where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
            return index
        }
        return nil
    }

    /// False on EOF or reset.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { throw ClientError.malformedResponse }
            guard n > 0 else { return false }
            buffer.append(contentsOf: chunk[..<n])
            return true
        }
    }
}

import BillSyncTestSupport
import Foundation

/// A unix datagram socket standing in for systemd's `$NOTIFY_SOCKET`.
final class NotifyListener: @unchecked Sendable {
    let path: String
    let fd: Int32
    private let lock = NSLock()
    private var received: [(at: Date, message: String)] = []
    private var thread: Thread?
    private var closed = false

    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/bs-notify-\(UUID().uuidString.prefix(8)).sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes + [0]) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else { throw TestFailure("bind \(path): \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let t = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !isClosed {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n > 0 {
                    let text = String(decoding: buffer[0..<n], as: UTF8.self)
                    lock.withLock { received.append((Date(), text)) }
                }
            }
        }
        thread = t
        t.start()
    }

    var isClosed: Bool { lock.withLock { closed } }

    var messages: [(at: Date, message: String)] { lock.withLock { received } }

    /// Waits until a datagram contains `text`.
    func waitFor(_ text: String, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if messages.contains(where: { $0.message.contains(text) }) { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }

    deinit {
        lock.withLock { closed = true }
        Thread.sleep(forTimeInterval: 0.15)
        close(fd)
        unlink(path)
    }
}

extension RunningProcess {
    /// What the process wrote to stderr so far.
    var stderrSoFar: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    func lines(withEvent event: String) -> [String] {
        stderrSoFar.split(separator: "\n").map(String.init).filter {
            $0.contains("event=\(event) ") || $0.hasSuffix("event=\(event)") || $0.contains("\"event\":\"\(event)\"")
        }
    }

    /// Waits until stderr holds `count` lines of `event`.
    @discardableResult
    func waitForEvent(_ event: String, count: Int = 1, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if lines(withEvent: event).count >= count { return true }
            if !process.isRunning { return lines(withEvent: event).count >= count }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }

    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// Waits for exit; returns the seconds it took, or nil on timeout (the process is then killed).
    func waitForExit(timeout: Double) -> Double? {
        let start = Date()
        while process.isRunning {
            if Date().timeIntervalSince(start) > timeout {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return Date().timeIntervalSince(start)
    }
}

import Foundation

/// An exclusive lock on a state directory, held for the life of the process.
///
/// `flock` on `billsync.lock`: the kernel drops it when the process dies however it
/// dies, so a killed run never leaves a stale lock. The file holds the holder's PID.
public final class StateLock: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case held(path: String, pid: String)
        case cannotOpen(path: String, reason: String)

        public var description: String {
            switch self {
            case .held(let path, let pid): "another billsync (pid \(pid)) holds the state lock \(path)"
            case .cannotOpen(let path, let reason): "cannot open the state lock \(path): \(reason)"
            }
        }
    }

    let fd: Int32
    public let path: String

    public init(directory: String) throws(Failure) {
        path = directory + "/billsync.lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, 32, 0)
            close(fd)
            let pid =
                n > 0
                ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                : "unknown"
            throw .held(path: path, pid: pid)
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, text, text.count, 0)
    }

    deinit { close(fd) }
}

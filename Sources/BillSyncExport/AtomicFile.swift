import Foundation

public struct ExportError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot write \(path): \(reason)" }
}

/// Writes a whole file so that readers see either the old or the new content, never a mix,
/// and a crash never leaves a half-written file: write a temporary file beside it, fsync,
/// rename over, fsync the directory. A file whose content would not change is left alone
/// (its mtime too).
public enum AtomicFile {
    /// Deletes temporary files that a killed export left behind (`.NAME.tmp-PID`).
    public static func removeLeftovers(in directories: [String]) {
        for directory in directories {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for name in names where name.hasPrefix(".") && name.contains(".tmp-") {
                unlink(directory + "/" + name)
            }
        }
    }

    /// Returns true when the file was (re)written.
    @discardableResult
    public static func write(_ bytes: [UInt8], to path: String) throws(ExportError) -> Bool {
        if let existing = FileManager.default.contents(atPath: path), existing.count == bytes.count,
           existing.elementsEqual(bytes) {
            return false
        }
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ExportError(path: directory, reason: "cannot create the directory: \(error.localizedDescription)")
        }
        let name = (path as NSString).lastPathComponent
        let temp = directory + "/." + name + ".tmp-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ExportError(path: temp, reason: String(cString: strerror(errno))) }
        var offset = 0
        let failure: String? = bytes.withUnsafeBytes { raw -> String? in
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                offset += n
            }
            return fsync(fd) == 0 ? nil : String(cString: strerror(errno))
        }
        close(fd)
        if let failure {
            unlink(temp)
            throw ExportError(path: path, reason: failure)
        }
        guard rename(temp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw ExportError(path: path, reason: reason)
        }
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
        return true
    }
}

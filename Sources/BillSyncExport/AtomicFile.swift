import Foundation

/// `SYNC_FILE_RANGE_WRITE`, which Glibc does not export to Swift.
private let syncFileRangeWrite: UInt32 = 2

public struct ExportError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot write \(path): \(reason)" }
}

/// Export files are written so that readers see either the old or the new content, never a
/// mix, and a crash never leaves a half-written file: a temporary file beside it, fsync,
/// rename over, fsync the directory (``StreamedFile``). A file whose content would not change
/// is left alone, its mtime too.
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
}

/// A file written piece by piece to a temporary file beside its final path, so that memory
/// stays flat however large it grows; ``finish()`` then replaces the old file only when the
/// content differs (compared chunk by chunk), by fsync and rename.
public final class StreamedFile {
    public let path: String
    let temp: String
    let fd: Int32
    var buffer: [UInt8] = []
    public private(set) var size = 0
    static let chunk = 1 << 18

    public init(path: String) throws(ExportError) {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ExportError(path: directory, reason: "cannot create the directory: \(error.localizedDescription)")
        }
        temp = directory + "/." + (path as NSString).lastPathComponent + ".tmp-\(getpid())"
        fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ExportError(path: temp, reason: String(cString: strerror(errno))) }
        buffer.reserveCapacity(Self.chunk)
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    public func write(_ bytes: [UInt8]) throws(ExportError) {
        buffer += bytes
        size += bytes.count
        if buffer.count >= Self.chunk { try flush() }
    }

    func flush() throws(ExportError) {
        var offset = 0
        let failure: String? = buffer.withUnsafeBytes { raw -> String? in
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                offset += n
            }
            return nil
        }
        buffer.removeAll(keepingCapacity: true)
        if let failure {
            abandon()
            throw ExportError(path: path, reason: failure)
        }
        written += offset
        #if os(Linux)
            // Hands every MiB written to the disk now, without waiting, so that the fsync
            // before the rename waits for the last of it, not for a whole large file.
            if written - handedToDisk >= 1 << 20 {
                _ = syncFileRange(
                    fd, Int64(handedToDisk), Int64(written - handedToDisk), syncFileRangeWrite)
                handedToDisk = written
            }
        #endif
    }

    private var written = 0
    private var handedToDisk = 0

    /// Throws the temporary file away.
    public func abandon() {
        unlink(temp)
    }

    /// Returns true when the file was (re)written, false when its content was already there.
    public func finish() throws(ExportError) -> Bool {
        try flush()
        guard fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            abandon()
            throw ExportError(path: path, reason: reason)
        }
        if Self.sameContent(temp, path) {
            abandon()
            return false
        }
        guard rename(temp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            abandon()
            throw ExportError(path: path, reason: reason)
        }
        let dirfd = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
        return true
    }

    /// ``finish()`` for a temporary file that another writer filled through its path (``temp``).
    func finishWrittenElsewhere() throws(ExportError) -> Bool {
        var info = stat()
        guard stat(temp, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            abandon()
            throw ExportError(path: path, reason: reason)
        }
        size = Int(info.st_size)
        return try finish()
    }

    static func sameContent(_ a: String, _ b: String) -> Bool {
        var sa = stat()
        var sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0, sa.st_size == sb.st_size else { return false }
        let fa = open(a, O_RDONLY | O_CLOEXEC)
        let fb = open(b, O_RDONLY | O_CLOEXEC)
        defer {
            if fa >= 0 { close(fa) }
            if fb >= 0 { close(fb) }
        }
        guard fa >= 0, fb >= 0 else { return false }
        var ba = [UInt8](repeating: 0, count: chunk)
        var bb = [UInt8](repeating: 0, count: chunk)
        while true {
            let na = read(fa, &ba, chunk)
            let nb = read(fb, &bb, chunk)
            if na != nb || na < 0 { return false }
            if na == 0 { return true }
            if memcmp(ba, bb, na) != 0 { return false }
        }
    }
}

#if os(Linux)
    /// Linux's `sync_file_range(2)` (declared in `<fcntl.h>` under `_GNU_SOURCE`, which the Glibc
    /// module leaves out): starts writeback of a byte range without waiting for it.
    @_silgen_name("sync_file_range")
    private func syncFileRange(_ fd: Int32, _ offset: Int64, _ count: Int64, _ flags: UInt32) -> Int32
#endif

import Foundation

/// `M_ARENA_MAX` and the `MADV_` advice, which Glibc does not all export to Swift.
private let mallocArenaMax: Int32 = -8
private let madviseNormal: Int32 = 0
private let madviseRandom: Int32 = 1
private let madvisePageout: Int32 = 21

#if canImport(Glibc)
    import Glibc
#endif

/// The process's memory habits: few allocator arenas, and memory handed back between polls.
public enum ProcessMemory {
    /// glibc gives every thread that allocates its own arena, up to eight per core, each
    /// keeping freed memory; a sync's threads need two.
    public static func limitAllocatorArenas() {
        #if os(Linux)
            _ = mallopt(mallocArenaMax, 2)
        #endif
    }

    /// What the daemon gives back while it waits for the next poll (an hour, by default,
    /// against seconds of work): the heap's free memory (`malloc_trim`), and the pages of its
    /// program and libraries, which the kernel may reclaim (`MADV_PAGEOUT` on each file
    /// mapping; pages other processes share are left alone). Nothing changes for the program:
    /// the next poll faults back the pages it touches, from the page cache when they are still
    /// there. Until `resume()`, those mappings are also marked `MADV_RANDOM`: what runs while
    /// idle (a scrape of `/metrics`, a webhook) brings back the pages it touches, not the
    /// neighbours that readahead would add. Returns how many mappings were advised.
    @discardableResult
    public static func release() -> Int {
        #if os(Linux)
            _ = mallocTrim(0)
            return forEachFileMapping { address, length in
                guard madvise(address, length, madvisePageout) == 0 else { return false }
                _ = madvise(address, length, madviseRandom)
                return true
            }
        #else
            return 0
        #endif
    }

    /// The process's CPU time so far (user and system), in seconds.
    public static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        return user + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// Back to work after `release()`: readahead as usual for the sync that starts.
    public static func resume() {
        #if os(Linux)
            _ = forEachFileMapping { address, length in madvise(address, length, madviseNormal) == 0 }
        #endif
    }

    #if os(Linux)
        /// Calls `body` with each file mapping of the process; returns how many it accepted.
        private static func forEachFileMapping(_ body: (UnsafeMutableRawPointer, Int) -> Bool) -> Int {
            guard let maps = readProcFile("/proc/self/maps") else { return 0 }
            var advised = 0
            for line in maps.split(separator: "\n") {
                // start-end perms offset dev inode path
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count >= 6, fields[5].hasPrefix("/") else { continue }
                let range = fields[0].split(separator: "-")
                guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16),
                    end > start,
                    let address = UnsafeMutableRawPointer(bitPattern: start)
                else { continue }
                if body(address, Int(end - start)) { advised += 1 }
            }
            return advised
        }
    #endif
}

#if os(Linux)
    /// The whole of a `/proc` file, read to its end: such files report size 0, and a reader
    /// that trusts the size gets only the first page (a quarter of the mappings, here).
    private func readProcFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { return nil }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// glibc's `malloc_trim` and `mallopt` (declared in `<malloc.h>`, which the Glibc module leaves out).
    @_silgen_name("malloc_trim")
    private func mallocTrim(_ pad: Int) -> Int32

    @_silgen_name("mallopt")
    private func mallopt(_ param: Int32, _ value: Int32) -> Int32
#endif

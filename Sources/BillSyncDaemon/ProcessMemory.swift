import Foundation

/// `M_ARENA_MAX` and `MADV_PAGEOUT`, which Glibc does not export to Swift.
private let mallocArenaMax: Int32 = -8
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
    /// there. Returns how many mappings were advised.
    @discardableResult
    public static func release() -> Int {
        #if os(Linux)
            _ = mallocTrim(0)
            guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return 0 }
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
                if madvise(address, Int(end - start), madvisePageout) == 0 { advised += 1 }
            }
            return advised
        #else
            return 0
        #endif
    }
}

#if os(Linux)
    /// glibc's `malloc_trim` and `mallopt` (declared in `<malloc.h>`, which the Glibc module leaves out).
    @_silgen_name("malloc_trim")
    private func mallocTrim(_ pad: Int) -> Int32

    @_silgen_name("mallopt")
    private func mallopt(_ param: Int32, _ value: Int32) -> Int32
#endif

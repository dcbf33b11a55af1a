#if canImport(Glibc)
    import Glibc
#endif

/// The source workers' scheduling priority, below the store's commit thread: every page a
/// worker reads passes that one thread, so when the CPU is short (a backfill on a small
/// machine), a worker that waits for the CPU costs less than the commit thread waiting: the
/// workers are only as fast as the commits they wait on.
enum WorkerPriority {
    /// How much nicer than the process a worker thread runs (`nice`: 0 is normal, 19 lowest).
    static let niceness: Int32 = 4

    /// Lowers the calling thread's priority by ``niceness``. Linux keeps the nice value per
    /// thread, and `PRIO_PROCESS` with id 0 names the calling thread (setpriority(2), NOTES);
    /// lowering it needs no privilege. Best effort.
    static func lowerCurrentThread() {
        #if os(Linux)
            errno = 0
            let current = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
            guard errno == 0 else { return }
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, min(19, current + niceness))
        #endif
    }
}

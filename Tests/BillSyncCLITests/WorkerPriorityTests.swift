import Foundation
import Synchronization
import Testing

@testable import BillSyncDaemon

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct WorkerPriorityTests {
    static func niceness() -> Int32 { getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }

    /// A source worker runs four steps nicer than the thread that started it, and only it: Linux
    /// keeps the nice value per thread, so the commit thread and the rest keep theirs.
    @Test func aWorkerThreadRunsNicerAndTheOthersKeepTheirPriority() {
        let before = Self.niceness()
        let done = DispatchSemaphore(value: 0)
        let inside = Mutex<Int32?>(nil)
        let thread = Thread {
            WorkerPriority.lowerCurrentThread()
            inside.withLock { $0 = Self.niceness() }
            done.signal()
        }
        thread.start()
        done.wait()
        #expect(inside.withLock { $0 } == min(19, before + WorkerPriority.niceness))
        #expect(WorkerPriority.niceness == 4)
        #expect(Self.niceness() == before, "the calling thread keeps its priority")
    }
}

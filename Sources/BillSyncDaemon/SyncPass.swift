import BillSyncConfig
import BillSyncCore
import BillSyncEngine
import BillSyncExport
import BillSyncStore
import Foundation
import Logging

/// One pass over some sources (concurrently, each on its own thread; one failing source
/// never stops the others), then the exports.
public struct SyncPass {
    public let config: Config
    public let store: BillingStore
    public let logger: Logger
    public let stop: StopFlag
    public let clock: SyncClock

    public init(config: Config, store: BillingStore, logger: Logger, stop: StopFlag, clock: SyncClock) {
        self.config = config
        self.store = store
        self.logger = logger
        self.stop = stop
        self.clock = clock
    }

    public func sync(_ sources: [SourceConfig]) -> [SyncReport] {
        let results = ReportBox(count: sources.count)
        let group = DispatchGroup()
        // Typesense Cloud sources first: their invoice details are a long chain of requests
        // under a tight rate limit, and the others' work fits around it. Otherwise config order.
        let order = sources.indices.sorted { a, b in
            let pa = sources[a].provider == .typesenseCloud ? 0 : 1, pb = sources[b].provider == .typesenseCloud ? 0 : 1
            return (pa, a) < (pb, b)
        }
        for index in order {
            let source = sources[index]
            group.enter()
            let thread = Thread { [config, store, logger, stop, clock] in
                let report = SourceSync(source: source, config: config, store: store, logger: logger, stop: stop, clock: clock).run()
                results.set(index, report)
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        return results.all()
    }

    /// Rewrites the configured exports (with `onlyChanged`, those whose data changed); logs
    /// each file written.
    public func export(formats: [ExportFormat]? = nil, onlyChanged: Bool = true) throws -> [ExportedFile] {
        let wanted = formats ?? config.exports
        let vendors = Dictionary(config.sources.map { ($0.name, $0.vendor) }, uniquingKeysWith: { a, _ in a })
        let exporter = Exporter(store: store, directory: config.exportDir, bom: config.csvBOM, accounting: config.accounting, vendors: vendors)
        let started = monotonicSeconds()
        let files = try exporter.run(formats: wanted, onlyChanged: onlyChanged)
        for file in files where file.written {
            logger.info("export.written", metadata: ["path": .string(file.path), "bytes": "\(file.bytes)", "rows": "\(file.rows)"])
        }
        logger.info("export.finished", metadata: [
            "files": "\(files.count)", "written": "\(files.filter(\.written).count)",
            "duration_ms": "\(Int((monotonicSeconds() - started) * 1000))",
        ])
        return files
    }
}

/// Collects per-source reports from their threads.
final class ReportBox: @unchecked Sendable {
    private var reports: [SyncReport?]
    private let lock = NSLock()

    init(count: Int) { reports = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ report: SyncReport) { lock.withLock { reports[index] = report } }

    func all() -> [SyncReport] { lock.withLock { reports.compactMap { $0 } } }
}

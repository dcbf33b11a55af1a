import BillSyncConfig
import BillSyncCore
import BillSyncEngine
import BillSyncExport
import BillSyncMetrics
import BillSyncStore
import Foundation
import Logging

/// One pass over some sources (several at once, on a few threads; one failing source never
/// stops the others), then the exports.
public struct SyncPass {
    public let config: Config
    public let store: BillingStore
    public let logger: Logger
    public let stop: StopFlag
    public let clock: SyncClock
    /// What the pass counts for `/metrics` and `metrics_file`.
    public let metrics: BillSyncMetrics
    /// Where budget and spike alerts go (`alert_webhook_url_file`).
    public var alerts: AlertSender?

    public init(
        config: Config, store: BillingStore, logger: Logger, stop: StopFlag, clock: SyncClock,
        metrics: BillSyncMetrics? = nil
    ) {
        self.config = config
        self.store = store
        self.logger = logger
        self.stop = stop
        self.clock = clock
        // A one-shot command counts only for a `metrics_file`; the daemon passes its own.
        self.metrics = metrics ?? BillSyncMetrics(counting: config.metricsFile != nil)
    }

    /// Syncs `sources`; each sync's lines carry `trigger=` (`manual` for `sync` and `demo`).
    public func sync(_ sources: [SourceConfig], trigger: String = "manual") -> [SyncReport] {
        var logger = self.logger
        logger[metadataKey: "trigger"] = .string(trigger)
        let results = ReportBox(count: sources.count)
        let group = DispatchGroup()
        // Sources with the longest chain of requests first (Typesense Cloud's invoice details under
        // a tight rate limit): the others' work fits around them. Otherwise config order.
        let order = sources.indices.sorted { a, b in
            let pa = sources[a].descriptor.longestChain ? 0 : 1
            let pb = sources[b].descriptor.longestChain ? 0 : 1
            return (pa, a) < (pb, b)
        }
        // As many threads as sources may sync at once, each taking the next source in order
        // when it is done with one: a thread per source would mostly wait, and each costs a stack.
        let next = NextIndex(order)
        for _ in 0..<min(order.count, SourceSync.concurrentSources) {
            group.enter()
            let thread = Thread { [config, store, logger, stop, clock, metrics] in
                WorkerPriority.lowerCurrentThread()
                while let index = next.take() {
                    let report = SourceSync(
                        source: sources[index], config: config, store: store, logger: logger, stop: stop, clock: clock
                    ).run()
                    metrics.record(report, source: sources[index])
                    results.set(index, report)
                }
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        let reports = results.all()
        let synced = zip(sources, reports).filter { $0.1.succeeded }.map(\.0)
        MonthEndWatch(config: config, store: store, logger: logger, alerts: alerts).afterSync(synced, now: clock.now())
        return reports
    }

    /// Rewrites the configured exports (with `onlyChanged`, those whose data changed); logs
    /// each file written.
    public func export(formats: [String]? = nil, onlyChanged: Bool = true) throws -> [ExportedFile] {
        let wanted = formats ?? config.exports
        let vendors = Dictionary(config.sources.map { ($0.name, $0.vendor) }, uniquingKeysWith: { a, _ in a })
        let exporter = Exporter(
            store: store, directory: config.exportDir, bom: config.csvBOM, accounting: config.accounting,
            vendors: vendors, tolerances: config.reconcileTolerances)
        let started = monotonicSeconds()
        let files = try exporter.run(formats: wanted, onlyChanged: onlyChanged)
        for file in files where file.written {
            logger.info(
                "export.written",
                metadata: ["path": .string(file.path), "bytes": "\(file.bytes)", "rows": "\(file.rows)"])
        }
        let seconds = monotonicSeconds() - started
        metrics.recordExport(at: clock.now(), seconds: seconds)
        logger.info(
            "export.finished",
            metadata: [
                "files": "\(files.count)", "written": "\(files.filter(\.written).count)",
                "duration_ms": "\(Int(seconds * 1000))",
            ])
        return files
    }

    /// Writes `metrics_file`, when the config has one; a failure is logged, not thrown (the
    /// sync and the exports are done).
    public func writeMetrics() {
        guard let path = config.metricsFile else { return }
        do {
            try metrics.writeTextfile(path, config: config, store: store, now: clock.now())
        } catch {
            logger.error("metrics.failed", metadata: ["path": .string(path), "error": .string("\(error)")])
        }
    }
}

/// Hands out the sources to sync, one at a time, to the pass's threads.
final class NextIndex: @unchecked Sendable {
    private let order: [Int]
    private var position = 0
    private let lock = NSLock()

    init(_ order: [Int]) { self.order = order }

    func take() -> Int? {
        lock.withLock {
            guard position < order.count else { return nil }
            defer { position += 1 }
            return order[position]
        }
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

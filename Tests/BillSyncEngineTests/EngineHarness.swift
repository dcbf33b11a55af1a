import BillSyncCore
import BillSyncProviders
import BillSyncStore
import Foundation
import Logging

@testable import BillSyncEngine

/// A ``FakeProvider`` and a store in a temporary file, and the engine's parts run over them
/// as `SourceSync` runs them, without a config, a binary or HTTP.
final class EngineHarness {
    let fake: FakeProvider
    let store: BillingStore
    let lanes: Int
    /// The sync clock; a provider's `onPage` may move it on while a walk runs.
    var now: Int64 {
        get { time.value }
        set { time.value = newValue }
    }
    let time = TestTime(1_800_000_000)
    var usageStart: Int64?
    var lookback: Int64 = 0

    init(_ fake: FakeProvider, lanes: Int = DetailFetcher.defaultLanes) throws {
        self.fake = fake
        self.lanes = lanes
        let dir = FileManager.default.temporaryDirectory.path + "/billsync-engine-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        store = try BillingStore(path: dir + "/billsync.db")
    }

    func context() -> SyncContext {
        SyncContext(
            source: "fake", provider: "fake", store: store,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), stop: StopFlag(),
            clock: SyncClock { [time] in time.value })
    }

    /// One invoice walk; the list pages it read and its error, if any.
    @discardableResult
    func sync() -> (error: Error?, pages: [String?]) {
        fake.reset()
        let context = context()
        let details = DetailFetcher(context: context, first: fake, lanes: lanes) { [fake] in fake }
        do {
            try InvoiceWalk(context: context, provider: fake, details: details).run()
            return (nil, fake.pagesRead)
        } catch {
            return (error, fake.pagesRead)
        }
    }

    /// One usage backfill; the usage pages it read (`window start/cursor`) and its error, if any.
    @discardableResult
    func backfill() -> (error: Error?, pages: [String]) {
        fake.reset()
        do {
            try UsageBackfill(context: context(), provider: fake, usageStart: usageStart, lookback: lookback).run()
            return (nil, fake.usageRead)
        } catch {
            return (error, fake.usageRead)
        }
    }

    var stored: [String: String] {
        Dictionary(
            uniqueKeysWithValues: (try? store.allInvoices())?.map { ($0.invoice.id, $0.invoice.status.rawValue) }
                ?? [])
    }

    var usageHours: Int { (try? store.counts(source: "fake").usageHours) ?? -1 }
}

/// Unix seconds that a test moves on while the engine reads them from other threads.
final class TestTime: @unchecked Sendable {
    private let lock = NSLock()
    private var seconds: Int64

    init(_ seconds: Int64) { self.seconds = seconds }

    var value: Int64 {
        get { lock.withLock { seconds } }
        set { lock.withLock { seconds = newValue } }
    }
}

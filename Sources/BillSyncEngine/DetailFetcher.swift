import BillSyncCore
import BillSyncProviders
import BillSyncStore
import Foundation

/// Invoice details fetched over several connections side by side. The connections share the
/// source's pacing, so under a rate limit they go no faster than one would; without one, a
/// backfill's thousands of details are not one long chain of round trips.
public final class DetailFetcher {
    /// Connections a source fetches details over.
    public static let defaultLanes = 3

    let context: SyncContext
    let first: BillingProvider
    let makeLane: () -> BillingProvider
    let laneCount: Int
    private var lanes: [BillingProvider] = []

    /// `first` is the walk's own provider; `makeLane` opens each further connection, when
    /// the first details are asked for.
    public init(
        context: SyncContext, first: BillingProvider, lanes: Int = DetailFetcher.defaultLanes,
        makeLane: @escaping () -> BillingProvider
    ) {
        self.context = context
        self.first = first
        self.laneCount = max(1, lanes)
        self.makeLane = makeLane
    }

    /// One invoice's detail, on the first connection.
    func detail(_ id: String) throws -> Invoice {
        context.report.detailRequests += 1
        return try first.invoiceDetail(id: id)
    }

    /// The details of `ids`, in order. What was fetched is committed every five invoices or
    /// every second, whichever comes first (under the Typesense limit, each detail as it
    /// comes), so a restart asks for few again; the rest is returned for the caller to commit
    /// with its page. A failure commits what came before it, then throws.
    func fetch(_ ids: [String]) throws -> [Invoice] {
        guard !ids.isEmpty else { return [] }
        if lanes.isEmpty {
            lanes = [first]
            for _ in 1..<laneCount { lanes.append(makeLane()) }
        }
        var fetched: [Invoice] = []
        var lastCommit = monotonicSeconds()
        var next = 0
        // A batch commits on the store's commit queue while the next details are fetched; at
        // most one waits, and every way out of here waits for it, so the page's own commit
        // (with the cursor) always comes after its details'.
        var pending: PendingCommit<PageOutcome>?
        func settle() throws {
            guard let p = pending else { return }
            pending = nil
            context.count(try p.wait())
        }
        defer { try? settle() }
        while next < ids.count {
            try context.checkStop()
            let batch = Array(ids[next..<min(next + lanes.count, ids.count)])
            let results = Self.fetchSideBySide(batch, lanes: lanes)
            context.report.detailRequests += batch.count
            for result in results {
                switch result {
                case .success(let invoice):
                    fetched.append(invoice)
                case .failure(let error):
                    try settle()
                    if !fetched.isEmpty { try context.commit(fetched, position: nil) }
                    throw error
                }
            }
            next += batch.count
            if fetched.count >= 5 || monotonicSeconds() - lastCommit >= 1 {
                try settle()
                pending = context.commitLater(fetched)
                fetched = []
                lastCommit = monotonicSeconds()
            }
        }
        try settle()
        return fetched
    }

    /// `ids[i]` through `lanes[i]`, all at once; results in the order of `ids`.
    static func fetchSideBySide(_ ids: [String], lanes: [BillingProvider]) -> [Result<Invoice, ProviderError>] {
        let results = SlotResults<Result<Invoice, ProviderError>>(count: ids.count)
        let group = DispatchGroup()
        for i in 1..<ids.count {
            let lane = UncheckedLane(provider: lanes[i])
            let id = ids[i]
            DispatchQueue.global().async(group: group) {
                results.set(
                    i, Result { () throws(ProviderError) -> Invoice in try lane.provider.invoiceDetail(id: id) })
            }
        }
        results.set(0, Result { () throws(ProviderError) -> Invoice in try lanes[0].invoiceDetail(id: ids[0]) })
        group.wait()
        return results.all
    }
}

/// A provider handed to one worker for one request; each lane is used by one thread at a time.
private struct UncheckedLane: @unchecked Sendable {
    let provider: BillingProvider
}

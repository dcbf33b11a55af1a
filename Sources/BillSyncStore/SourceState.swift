import BillSyncCore

/// A source's sync position and health, as committed.
public struct SourceState: Sendable, Equatable {
    public var source: String
    public var provider: String
    public var walkActive = false
    public var walkCursor: String?
    public var walkFull = true
    public var usageStart: Int64?
    public var usageDoneUntil: Int64?
    public var usageWindow: UsageWindow?
    public var lastAttemptAt: Int64?
    public var lastSuccessAt: Int64?
    public var lastError: String?
    public var lastErrorAt: Int64?
    public var lastSyncRequests = 0
    public var requestsTotal = 0

    public init(source: String, provider: String) {
        self.source = source
        self.provider = provider
    }
}

/// A usage window being read: `[start, end)` and where its next page starts.
public struct UsageWindow: Sendable, Equatable {
    public var start: Int64
    public var end: Int64
    public var cursor: String?

    public init(start: Int64, end: Int64, cursor: String?) {
        self.start = start
        self.end = end
        self.cursor = cursor
    }
}

/// Where an invoice walk stands after a page: still going (with the next cursor), or done.
public enum WalkPosition: Sendable, Equatable {
    case next(cursor: String)
    /// The walk ended; `reachedEnd` when it read the list to its last page.
    case finished(reachedEnd: Bool)
}

/// Where usage stands after a page.
public enum UsagePosition: Sendable, Equatable {
    case inWindow(UsageWindow)
    /// The window is done: every hour before `doneUntil` has been read.
    case windowDone(doneUntil: Int64)
}

/// What the store already knows about an invoice, for deciding what to re-read.
public struct KnownInvoice: Sendable, Equatable {
    public var state: InvoiceState
    public var hasLines: Bool
}

/// What committing a page changed.
public struct PageOutcome: Sendable, Equatable {
    public var new = 0
    public var changed = 0
    /// Invoices whose provider left out a field that billsync filled, each listed the first time
    /// (or when the fields change): id and the fields, for `invoice.incomplete`.
    public var incomplete: [(id: String, fields: [String])] = []
    /// Invoices moved from their provisional key to the real id the provider now sends.
    public var identified: [(from: String, to: String)] = []
    public init() {}

    public static func == (a: PageOutcome, b: PageOutcome) -> Bool {
        a.new == b.new && a.changed == b.changed && a.incomplete.elementsEqual(b.incomplete) { $0 == $1 }
            && a.identified.elementsEqual(b.identified) { $0 == $1 }
    }
}

/// One page to write atomically: the mapped records (hashed where they were mapped), the
/// stream's cursor after the page, its failed records and its run counts.
public struct PageWrite: Sendable, Equatable {
    public var integrationId: String
    public var demoId: String
    public var entity: EntityModel
    public var stream: String
    public var records: [MappedRecord]
    /// The stream's cursor after this page; nil leaves it as it is.
    public var cursor: String?
    /// When the page was fetched, µs since epoch.
    public var now: Int64
    /// The lease that must still be ours for the write to commit.
    public var fence: LeaseFence?
    /// The run whose sync-log counts this page adds to, with the page's fetched and failed
    /// counts (inserted, updated and unchanged come from the plan).
    public var run: RunCounts?
    /// Records of this stream that failed mapping: kept with their raw payload and reason.
    public var failures: [FailedRecord]
    /// External ids whose kept failure is cleared (they mapped this time).
    public var resolvedFailures: [String]
    /// The page's records as fetched, compressed (`keep_raw`): each replaces the external id's
    /// last payload, so `plan` can re-map the stored rows without refetching. Empty: none kept.
    public var raws: [RawPayload] = []

    public init(
        integrationId: String, demoId: String, entity: EntityModel, stream: String, records: [MappedRecord],
        cursor: String?, now: Int64, fence: LeaseFence? = nil, run: RunCounts? = nil, failures: [FailedRecord] = [],
        resolvedFailures: [String] = []
    ) {
        self.integrationId = integrationId
        self.demoId = demoId
        self.entity = entity
        self.stream = stream
        self.records = records
        self.cursor = cursor
        self.now = now
        self.fence = fence
        self.run = run
        self.failures = failures
        self.resolvedFailures = resolvedFailures
    }
}

/// One record's payload as fetched, deflated where the page was mapped (off the store's lock).
public struct RawPayload: Sendable, Equatable {
    public var externalId: String
    public var compressed: [UInt8]
    public init(externalId: String, compressed: [UInt8]) {
        self.externalId = externalId
        self.compressed = compressed
    }
}

/// Fences a page write with the connection's lease, and extends the lease by `ttlSeconds`.
public struct LeaseFence: Sendable, Equatable {
    public var holder: String
    public var ttlSeconds: Int
    public init(holder: String, ttlSeconds: Int) {
        self.holder = holder
        self.ttlSeconds = ttlSeconds
    }
}

/// A page's contribution to its run's sync-log row, written in the page's transaction so that
/// a run killed mid-way still reports what it committed.
public struct RunCounts: Sendable, Equatable {
    public var runId: String
    public var fetched: Int
    public var failed: Int
    public init(runId: String, fetched: Int, failed: Int) {
        self.runId = runId
        self.fetched = fetched
        self.failed = failed
    }
}

/// A record that failed mapping, as written: kept until a later run maps it.
public struct FailedRecord: Sendable, Equatable {
    public var externalId: String
    public var reason: String
    /// The record as fetched (JSON text), so a later run can map it again without refetching.
    public var rawJSON: String
    public init(externalId: String, reason: String, rawJSON: String) {
        self.externalId = externalId
        self.reason = reason
        self.rawJSON = rawJSON
    }
}

public struct PageOutcome: Sendable, Equatable {
    public var inserted = 0
    public var updated = 0
    /// Records whose content hash equals the stored row: not rewritten.
    public var unchanged = 0
    public init(inserted: Int = 0, updated: Int = 0, unchanged: Int = 0) {
        self.inserted = inserted
        self.updated = updated
        self.unchanged = unchanged
    }
}

/// What the store holds for one external id: the id of its row (the internal id) and the row's
/// content hash. The id map is a view over the entity tables (`contractor_data_mappings`), so an
/// external id is known exactly when its row exists.
public struct StoredIdentity: Sendable, Equatable {
    public var internalId: String
    public var hash: String
    public init(internalId: String, hash: String) {
        self.internalId = internalId
        self.hash = hash
    }
}

/// Everything a page write does, decided once by pure code from the page and the stored
/// identities of its external ids. A store only looks those up and applies the plan; a dry run
/// computes the plan and stops. Follows terraform's plan: the apply is described entirely by it.
public struct PagePlan: Sendable, Equatable {
    /// What happens to one record of the page.
    public enum Action: Sendable, Equatable {
        /// A new row under a new internal id (its mapping comes with it: the id map is a view).
        case insert
        /// The stored row differs: rewritten. The previous hash is kept for diffs (`plan`).
        case update(previousHash: String)
        case unchanged
    }

    /// One record of the page, in page order.
    public struct Step: Sendable, Equatable {
        public var externalId: String
        public var internalId: String
        public var action: Action
        public init(externalId: String, internalId: String, action: Action) {
            self.externalId = externalId
            self.internalId = internalId
            self.action = action
        }
    }

    /// A row to write: the record at `index` of the page, under `internalId`.
    public struct Row: Sendable, Equatable {
        public var index: Int
        public var internalId: String
        public init(index: Int, internalId: String) {
            self.index = index
            self.internalId = internalId
        }
    }

    public let page: PageWrite
    /// One per record of the page, in order.
    public let steps: [Step]
    /// Rows to insert, one per external id (a record repeated in the page: its last version).
    public let inserts: [Row]
    /// Rows to rewrite, one per external id and none that is also inserted (its last version).
    public let updates: [Row]
    public let outcome: PageOutcome

    /// Plans `page` against `existing` (the stored identity of each external id that has a row).
    /// A record repeated in one page counts once as an insert, then as an update or unchanged
    /// against its own earlier version. `newId` makes the internal ids of new rows.
    public static func make(_ page: PageWrite, existing: [String: StoredIdentity], newId: () -> String) -> PagePlan {
        var known = existing
        var steps: [Step] = []
        steps.reserveCapacity(page.records.count)
        var outcome = PageOutcome()
        // Position in `inserts`/`updates` of each external id's row, so a repeat replaces it.
        var insertAt: [String: Int] = [:]
        var updateAt: [String: Int] = [:]
        var inserts: [Row] = []
        var updates: [Row] = []
        for (index, record) in page.records.enumerated() {
            let ext = record.externalId
            let hash = record.contentHash
            let stored = known[ext]
            if let stored {
                if stored.hash == hash {
                    outcome.unchanged += 1
                    steps.append(Step(externalId: ext, internalId: stored.internalId, action: .unchanged))
                    continue
                }
                outcome.updated += 1
                steps.append(Step(externalId: ext, internalId: stored.internalId, action: .update(previousHash: stored.hash)))
                let row = Row(index: index, internalId: stored.internalId)
                if let i = insertAt[ext] {
                    inserts[i] = row
                } else if let i = updateAt[ext] {
                    updates[i] = row
                } else {
                    updateAt[ext] = updates.count
                    updates.append(row)
                }
            } else {
                let internalId = newId()
                outcome.inserted += 1
                steps.append(Step(externalId: ext, internalId: internalId, action: .insert))
                insertAt[ext] = inserts.count
                inserts.append(Row(index: index, internalId: internalId))
            }
            known[ext] = StoredIdentity(internalId: steps[steps.count - 1].internalId, hash: hash)
        }
        return PagePlan(page: page, steps: steps, inserts: inserts, updates: updates, outcome: outcome)
    }

    init(page: PageWrite, steps: [Step], inserts: [Row], updates: [Row], outcome: PageOutcome) {
        self.page = page
        self.steps = steps
        self.inserts = inserts
        self.updates = updates
        self.outcome = outcome
    }
}

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
    /// The records as fetched, one payload per record of `records` (`keep_raw`): rows written by
    /// this page point at it, so `plan` can re-map them without refetching. Nil: not kept (or,
    /// for `apply`'s rewrites, left where they are).
    public var rawPage: RawPage?
    /// Payloads of a stream that has no rows (a looked-up stream), one per record, compressed:
    /// each replaces the external id's last one.
    public var raws: [RawPayload] = []
    /// The page can be fetched again if its commit is lost: a pulled page, whose cursor commits
    /// with it. A store may then commit it without waiting for the disk (PostgreSQL
    /// `synchronous_commit = off`, as SQLite's `synchronous = NORMAL` does): a crash of the
    /// database server loses at most the last moments of pages, cursor included, and the next run
    /// fetches them again. The run's own end is committed durably, and with it every page before.
    /// A webhook delivery is not replayable: it is answered only once it is on disk.
    public var replayable = false

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

/// A page's records as fetched, kept together (`keep_raw`): hundreds of records of one listing
/// compress to a seventh of what each record deflated alone did, in a twentieth of the time.
public struct RawPage: Sendable, Equatable {
    /// `{"external_ids":[…],"records":[…]}`, zstd-compressed: entry `i` is record `i` of the page write.
    public var compressed: [UInt8]
    /// A hash of each record's bytes as fetched, by index.
    public var hashes: [Int64]
    public init(compressed: [UInt8], hashes: [Int64]) {
        self.compressed = compressed
        self.hashes = hashes
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
    /// The raw-payload page the row points at, and the hash of its payload there (`keep_raw`).
    public var rawPage: Int64?
    public var rawHash: Int64?
    public init(internalId: String, hash: String, rawPage: Int64? = nil, rawHash: Int64? = nil) {
        self.internalId = internalId
        self.hash = hash
        self.rawPage = rawPage
        self.rawHash = rawHash
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
    /// Rows whose values are unchanged but whose raw payload changed: only their pointer to the
    /// page's raw payloads is rewritten (`keep_raw`).
    public private(set) var repoints: [Row] = []
    /// Stored raw-payload pages that rows of this page moved off, with how many rows moved.
    public private(set) var releasedPages: [Int64: Int] = [:]

    /// Rows that point at this page's raw payloads once it is applied (none without them).
    public var pointingRows: Int { page.rawPage == nil ? 0 : inserts.count + updates.count + repoints.count }

    /// Plans `page` against `existing` (the stored identity of each external id that has a row).
    /// A record repeated in one page counts once as an insert, then as an update or unchanged
    /// against its own earlier version; its row is written once, from its last version. `newId`
    /// makes the internal ids of new rows.
    ///
    /// With the page's raw payloads (`page.rawPage`), every row written points at them, and so
    /// does a row whose values are unchanged but whose payload is not (a field no mapping reads
    /// changed): `plan` re-maps the latest payload. Each row that moves off a stored page is
    /// counted in `releasedPages`, so the store can drop a page no row points at any more.
    public static func make(_ page: PageWrite, existing: [String: StoredIdentity], newId: () -> String) -> PagePlan {
        var steps: [Step] = []
        steps.reserveCapacity(page.records.count)
        var outcome = PageOutcome()
        let rawHashes = page.rawPage?.hashes
        // One row per external id, in first-seen order; a repeat moves it to its latest version,
        // and an insert stays an insert, an update an update.
        var rows: [(kind: RowKind, row: Row)] = []
        rows.reserveCapacity(page.records.count)
        // Per external id of the page: the identity a repeat compares with (its earlier version,
        // whose payload is on this page) and its row. One hash table for both: this runs for
        // every record, inside the page's transaction.
        var seen: [String: (identity: StoredIdentity, row: Int?)] = [:]
        seen.reserveCapacity(page.records.count)
        var released: [Int64: Int] = [:]
        for (index, record) in page.records.enumerated() {
            let ext = record.externalId
            let hash = record.contentHash
            let rawHash = rawHashes.flatMap { index < $0.count ? $0[index] : nil }
            let earlier = seen[ext]
            let stored = earlier?.identity ?? existing[ext]
            var row = earlier?.row
            func write(_ kind: RowKind, _ internalId: String) {
                let entry = Row(index: index, internalId: internalId)
                if let i = row {
                    rows[i] = (max(rows[i].kind, kind), entry)
                } else {
                    row = rows.count
                    rows.append((kind, entry))
                    // The first write of this id moves its row off the page it pointed at.
                    if rawHashes != nil, let from = existing[ext]?.rawPage { released[from, default: 0] += 1 }
                }
            }
            if let stored {
                if stored.hash == hash {
                    outcome.unchanged += 1
                    steps.append(Step(externalId: ext, internalId: stored.internalId, action: .unchanged))
                    if let rawHash, stored.rawHash != rawHash { write(.repoint, stored.internalId) }
                } else {
                    outcome.updated += 1
                    steps.append(Step(externalId: ext, internalId: stored.internalId,
                                      action: .update(previousHash: stored.hash)))
                    write(.update, stored.internalId)
                }
            } else {
                let internalId = newId()
                outcome.inserted += 1
                steps.append(Step(externalId: ext, internalId: internalId, action: .insert))
                write(.insert, internalId)
            }
            seen[ext] = (StoredIdentity(internalId: steps[steps.count - 1].internalId, hash: hash, rawPage: nil,
                                        rawHash: rawHash), row)
        }
        var inserts: [Row] = []
        var updates: [Row] = []
        var repoints: [Row] = []
        for r in rows {
            switch r.kind {
            case .insert: inserts.append(r.row)
            case .update: updates.append(r.row)
            case .repoint: repoints.append(r.row)
            }
        }
        var plan = PagePlan(page: page, steps: steps, inserts: inserts, updates: updates, outcome: outcome)
        plan.repoints = repoints
        plan.releasedPages = released
        return plan
    }

    /// How a record's row is written; a repeat takes the larger of its versions' kinds.
    enum RowKind: Int, Comparable {
        case repoint, update, insert
        static func < (a: RowKind, b: RowKind) -> Bool { a.rawValue < b.rawValue }
    }

    init(page: PageWrite, steps: [Step], inserts: [Row], updates: [Row], outcome: PageOutcome) {
        self.page = page
        self.steps = steps
        self.inserts = inserts
        self.updates = updates
        self.outcome = outcome
    }
}

import TradeSyncCore

/// The one way out: where configuration, connections, synced records, id maps, cursors and
/// run logs live. SQLite (embedded) and PostgreSQL (shared by many workers) implement it.
public protocol SyncStore: Sendable {
    var dialect: SQLDialect { get }

    /// Creates or upgrades every table from the declared model. Idempotent.
    func migrate(model: DataModel) async throws -> MigrationReport
    func appliedMigrations() async throws -> [AppliedMigration]
    /// Column names of a table, in order (for tests and `plan`).
    func columns(of table: String) async throws -> [String]

    func upsertTemplate(_ template: IntegrationTemplate) async throws
    func templates() async throws -> [IntegrationTemplate]

    /// Inserts or updates a connection keyed by (demo id, connection key); returns it with its id.
    func upsertConnection(_ connection: ConnectionRecord) async throws -> ConnectionRecord
    func connections(demoId: String?) async throws -> [ConnectionRecord]
    func connection(id: String) async throws -> ConnectionRecord?
    func setConnectionStatus(id: String, status: ConnectionStatus, error: String?) async throws

    func cursor(integrationId: String, stream: String) async throws -> String?
    /// Writes a page's records, their id mappings, the stream's new cursor, its kept failed
    /// records and its run counts in one transaction. With a fence, the transaction first checks
    /// (and extends) the lease and throws `LeaseLostError` when another process holds it.
    func applyPage(_ page: PageWrite) async throws -> PageOutcome
    /// What `applyPage` would do, without writing (dry runs).
    func previewPage(_ page: PageWrite) async throws -> PageOutcome

    /// Takes the connection's run lease if it is free, expired, already ours, or held by
    /// `takeOverFrom` (a holder known to be dead).
    func acquireLease(integrationId: String, holder: String, ttlSeconds: Int, takeOverFrom: String?) async throws -> Bool
    /// The current lease holder, if any.
    func leaseHolder(integrationId: String) async throws -> String?
    /// Marks runs still `running` as failed: called by the lease holder, so they are stale
    /// (their process died).
    func markInterruptedRuns(integrationId: String) async throws -> Int
    /// Rows in a table (diagnostics and tests).
    func rowCount(table: String) async throws -> Int
    func releaseLease(integrationId: String, holder: String) async throws

    /// Token columns are opaque text to the store: the engine seals them before they get here.
    func loadTokens(integrationId: String) async throws -> StoredTokens?
    /// Compare-and-swap on the refresh token: writes only if the stored refresh token is still
    /// `expectedRefreshToken` (nil: only if none is stored).
    func replaceTokens(integrationId: String, expectedRefreshToken: String?, with tokens: StoredTokens) async throws -> Bool
    /// Connections that have stored tokens (key rotation walks them).
    func tokenIntegrationIds() async throws -> [String]
    /// Forgets a connection's tokens (disconnect); its synced data stays.
    func deleteTokens(integrationId: String) async throws

    /// Takes the short lease that serialises credential refreshes of one connection across
    /// processes: free, expired or already ours.
    func acquireCredentialLease(integrationId: String, holder: String, ttlSeconds: Int) async throws -> Bool
    func releaseCredentialLease(integrationId: String, holder: String) async throws

    /// Records a pending OAuth authorization (`connect`).
    func saveOAuthState(_ state: OAuthStateRecord) async throws
    /// Removes and returns a pending authorization: a state is good for one callback only.
    func takeOAuthState(_ state: String) async throws -> OAuthStateRecord?

    /// Failed records kept for retry, oldest first: one connection's (and stream's), or all.
    func keptFailures(integrationId: String?, stream: String?, limit: Int) async throws -> [KeptFailure]

    func startRun(_ run: SyncRunStart) async throws -> String
    func finishRun(_ run: SyncRunFinish) async throws
    func runs(integrationId: String?, limit: Int) async throws -> [SyncRunRecord]

    /// Every stored row of an entity for one integration, keyed by external id.
    func rows(entity: EntityModel, integrationId: String) async throws -> [String: StoredRow]
    func mappingCount(integrationId: String, entity: String) async throws -> Int
    func summary() async throws -> [IntegrationSummary]

    func close() async throws
}

public enum SQLDialect: String, Sendable {
    case sqlite, postgres
}

/// A fenced page write found the connection's lease held by another process: this run must
/// stop without writing (the other process owns the connection now).
public struct LeaseLostError: Error, Sendable, CustomStringConvertible {
    public var holder: String
    public init(holder: String) { self.holder = holder }
    public var description: String {
        "lost the connection's run lease to another process: stopped before writing"
    }
}

public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public struct AppliedMigration: Sendable, Equatable {
    public var version: Int
    public var name: String
}

/// OAuth tokens of an authorization-code connection, as stored (sealed by the engine).
public struct StoredTokens: Sendable, Equatable {
    public var accessToken: String?
    public var refreshToken: String
    public var expiresAtMicros: Int64?
    /// When the refresh token itself dies (QuickBooks: 100 days); nil when the provider does not say.
    public var refreshExpiresAtMicros: Int64?
    /// Fields from the OAuth callback (QuickBooks `realmId`), as JSON text.
    public var callbackFieldsJSON: String?

    public init(accessToken: String?, refreshToken: String, expiresAtMicros: Int64?, refreshExpiresAtMicros: Int64? = nil,
                callbackFieldsJSON: String? = nil) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expiresAtMicros = expiresAtMicros
        self.refreshExpiresAtMicros = refreshExpiresAtMicros
        self.callbackFieldsJSON = callbackFieldsJSON
    }
}

/// A pending authorization of `connect`: the `state` sent to the provider, the connection it is
/// for, and the sealed PKCE verifier.
public struct OAuthStateRecord: Sendable, Equatable {
    public var state: String
    public var integrationId: String
    public var redirectURI: String
    public var codeVerifier: String?
    public var expiresAtMicros: Int64

    public init(state: String, integrationId: String, redirectURI: String, codeVerifier: String?, expiresAtMicros: Int64) {
        self.state = state
        self.integrationId = integrationId
        self.redirectURI = redirectURI
        self.codeVerifier = codeVerifier
        self.expiresAtMicros = expiresAtMicros
    }
}

/// A row of `contractor_integration_templates`: what the UI offers to connect.
public struct IntegrationTemplate: Sendable, Equatable {
    public var integrationType: String
    public var displayName: String
    public var description: String?
    public var authType: String
    public var status: String
    public var statusNote: String?
    public var capabilities: [String]
    public var defaultFrequency: String
    public var docsURL: String?
    /// Streams and connection fields, as JSON text.
    public var configJSON: String

    public init(
        integrationType: String, displayName: String, description: String?, authType: String, status: String,
        statusNote: String?, capabilities: [String], defaultFrequency: String, docsURL: String?, configJSON: String
    ) {
        self.integrationType = integrationType
        self.displayName = displayName
        self.description = description
        self.authType = authType
        self.status = status
        self.statusNote = statusNote
        self.capabilities = capabilities
        self.defaultFrequency = defaultFrequency
        self.docsURL = docsURL
        self.configJSON = configJSON
    }
}

/// One page to write atomically.
public struct PageWrite: Sendable {
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
    /// counts (inserted, updated and unchanged come from the write itself).
    public var run: RunCounts?
    /// Records of this stream that failed mapping: kept with their raw payload and reason.
    public var failures: [FailedRecord]
    /// External ids whose kept failure is cleared (they mapped this time).
    public var resolvedFailures: [String]

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

extension PageOutcome {
    /// What writing `records` would do, given the stored hash of each known external id (nil
    /// hash: mapped, row missing). Records repeated in a page count as `applyPage` counts them.
    static func preview(_ records: [MappedRecord], stored: [String: String?]) -> PageOutcome {
        var stored = stored
        var outcome = PageOutcome()
        for record in records {
            let hash = record.contentHash
            if let existing = stored[record.externalId], let existingHash = existing {
                if existingHash == hash { outcome.unchanged += 1 } else { outcome.updated += 1 }
            } else {
                outcome.inserted += 1
            }
            stored[record.externalId] = .some(hash)
        }
        return outcome
    }
}

public struct SyncRunStart: Sendable {
    public var integrationId: String
    public var demoId: String
    /// Streams synced, comma-separated (the seed's `entity_type`).
    public var entityType: String
    /// `scheduled` or `manual`.
    public var syncType: String
    public var startedAt: Int64

    public init(integrationId: String, demoId: String, entityType: String, syncType: String, startedAt: Int64) {
        self.integrationId = integrationId
        self.demoId = demoId
        self.entityType = entityType
        self.syncType = syncType
        self.startedAt = startedAt
    }
}

/// How a run ended. Its record counts are not here: each page adds its own in its transaction.
public struct SyncRunFinish: Sendable {
    public var runId: String
    public var status: SyncRunStatus
    public var completedAt: Int64
    public var durationMs: Int64
    public var errorMessage: String?
    /// Per-stream counts and failed records (external id + reason), as JSON text.
    public var detailsJSON: String
    /// The run wrote many rows: refresh the planner's statistics (PostgreSQL).
    public var analyze: Bool

    public init(runId: String, status: SyncRunStatus, completedAt: Int64, durationMs: Int64, errorMessage: String?,
                detailsJSON: String, analyze: Bool = false) {
        self.analyze = analyze
        self.runId = runId
        self.status = status
        self.completedAt = completedAt
        self.durationMs = durationMs
        self.errorMessage = errorMessage
        self.detailsJSON = detailsJSON
    }
}

/// A row of the `contractor_integration_summary` view.
public struct IntegrationSummary: Sendable, Equatable {
    public var integrationId: String
    public var demoId: String
    public var integrationType: String
    public var status: String
    public var totalSyncs: Int
    public var successfulSyncs: Int
    public var failedSyncs: Int
    /// Records inserted over all runs.
    public var recordsInserted: Int
    /// Records inserted or updated over all runs.
    public var recordsSynced: Int
}

/// Opens the store a location names.
public enum StoreFactory {
    public static func open(_ location: StoreLocation) async throws -> any SyncStore {
        switch location {
        case .postgres(let url): return try await PostgresStore.connect(url: url)
        case .sqlite(let path): return try SQLiteStore(path: path)
        }
    }

    /// Parses `sqlite:PATH` (relative to the working directory) or `postgres://…` with the one
    /// parser, `StoreLocation`, then opens it (tests and the benchmark name stores as text).
    public static func open(_ text: String) async throws -> any SyncStore {
        guard let location = StoreLocation(parsing: text, relativeTo: "") else {
            throw StoreError("unknown store '\(text)': expected sqlite:PATH or postgres://…")
        }
        return try await open(location)
    }
}

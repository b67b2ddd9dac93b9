import TradeSyncCore

/// The one way out: where configuration, connections, synced records, id maps, cursors and
/// run logs live. SQLite (embedded) and PostgreSQL (shared by many workers) implement every
/// role; code that needs only one role should ask for only that one (see `Roles/`).
public typealias SyncStore = Migrator & ConnectionCatalog & RunLeases & CredentialStore & RunLog & RecordStore
    & StoreLifetime

/// Releases the store's connection (SQLite) or pool (PostgreSQL).
public protocol StoreLifetime: Sendable {
    func close() async throws
}

/// Synced records: their cursors, page writes, kept failures and rows.
public protocol RecordStore: Sendable {
    func cursor(integrationId: String, stream: String) async throws -> String?
    /// Writes a page's records, their id mappings, the stream's new cursor, its kept failed
    /// records and its run counts in one transaction. With a fence, the transaction first checks
    /// (and extends) the lease and throws `LeaseLostError` when another process holds it.
    func applyPage(_ page: PageWrite) async throws -> PageOutcome
    /// What `applyPage` would do, without writing (dry runs).
    func previewPage(_ page: PageWrite) async throws -> PageOutcome

    /// Failed records kept for retry, oldest first: one connection's (and stream's), or all.
    func keptFailures(integrationId: String?, stream: String?, limit: Int) async throws -> [KeptFailure]

    /// Every stored row of an entity for one integration, keyed by external id.
    func rows(entity: EntityModel, integrationId: String) async throws -> [String: StoredRow]
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

public struct MigrationReport: Sendable, Equatable {
    /// Versioned base migrations applied by this call.
    public var appliedVersions: [Int] = []
    public var createdTables: [String] = []
    /// `table.column` for each column added because the model gained a field.
    public var addedColumns: [String] = []
    public var isNoOp: Bool { appliedVersions.isEmpty && createdTables.isEmpty && addedColumns.isEmpty }
    public init() {}
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

public enum ConnectionStatus: String, Sendable, CaseIterable {
    case pending, connected, disconnected, error
    case needsReauth = "needs_reauth"
}

/// A row of `contractor_integrations`. Credentials are references (`env:…`), never values.
public struct ConnectionRecord: Sendable, Equatable {
    public var id: String
    public var demoId: String
    public var connectionKey: String
    public var integrationType: String
    public var status: ConnectionStatus
    /// Credential slot → reference, as JSON text.
    public var credentialsJSON: String
    /// Connection fields, stream selection and URL overrides, as JSON text.
    public var configJSON: String
    public var syncFrequency: String
    public var autoSync: Bool
    public var lastSyncedAt: Int64?
    public var lastError: String?

    public init(
        id: String = "", demoId: String, connectionKey: String, integrationType: String,
        status: ConnectionStatus = .pending, credentialsJSON: String = "{}", configJSON: String = "{}",
        syncFrequency: String, autoSync: Bool, lastSyncedAt: Int64? = nil, lastError: String? = nil
    ) {
        self.id = id
        self.demoId = demoId
        self.connectionKey = connectionKey
        self.integrationType = integrationType
        self.status = status
        self.credentialsJSON = credentialsJSON
        self.configJSON = configJSON
        self.syncFrequency = syncFrequency
        self.autoSync = autoSync
        self.lastSyncedAt = lastSyncedAt
        self.lastError = lastError
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

/// A kept failed record, as read back.
public struct KeptFailure: Sendable, Equatable {
    public var integrationId: String
    public var stream: String
    public var externalId: String
    public var reason: String
    public var rawJSON: String
    /// Runs that tried to map it.
    public var attempts: Int
    public var firstFailedAt: Int64
    public var lastFailedAt: Int64
    public init(integrationId: String, stream: String, externalId: String, reason: String, rawJSON: String,
                attempts: Int, firstFailedAt: Int64, lastFailedAt: Int64) {
        self.integrationId = integrationId
        self.stream = stream
        self.externalId = externalId
        self.reason = reason
        self.rawJSON = rawJSON
        self.attempts = attempts
        self.firstFailedAt = firstFailedAt
        self.lastFailedAt = lastFailedAt
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

public enum SyncRunStatus: String, Sendable, CaseIterable {
    case running, success, partial, failed, deferred
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

/// A row of `contractor_sync_logs`.
public struct SyncRunRecord: Sendable, Equatable {
    public var id: String
    public var integrationId: String
    public var demoId: String
    public var entityType: String
    public var syncType: String
    public var status: SyncRunStatus
    public var fetched: Int
    public var inserted: Int
    public var updated: Int
    public var unchanged: Int
    public var failed: Int
    public var startedAt: Int64
    public var completedAt: Int64?
    public var durationMs: Int64?
    public var errorMessage: String?
    public var detailsJSON: String
}

/// A stored entity row: declared fields by name (as canonical text) plus bookkeeping.
public struct StoredRow: Sendable, Equatable {
    public var id: String
    public var sourceHash: String
    public var values: [String: String?]
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
    public static func open(_ location: String) async throws -> any SyncStore {
        if location.hasPrefix("postgres://") || location.hasPrefix("postgresql://") {
            return try await PostgresStore.connect(url: location)
        }
        if location.hasPrefix("sqlite:") {
            return try SQLiteStore(path: String(location.dropFirst(7)))
        }
        throw StoreError(.invalidLocation, "unknown store '\(location)': expected sqlite:PATH or postgres://…")
    }
}

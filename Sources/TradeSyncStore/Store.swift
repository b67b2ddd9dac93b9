public import TradeSyncCore

/// The one way out: where configuration, connections, synced records, id maps, cursors and
/// run logs live. SQLite (embedded) and PostgreSQL (shared by many workers) implement every
/// role; code that needs only one role should ask for only that one (see `Roles/`).
public typealias SyncStore = Migrator & ConnectionCatalog & RunLeases & CredentialStore & RunLog & RecordWriter
    & AppliedStateWriter & StoreLifetime & RunQueue & APITokenStore

/// Releases the store's connection (SQLite) or pool (PostgreSQL).
public protocol StoreLifetime: Sendable {
    func close() async throws
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
            throw StoreError(.invalidLocation, "unknown store '\(text)': expected sqlite:PATH or postgres://…")
        }
        return try await open(location)
    }
}

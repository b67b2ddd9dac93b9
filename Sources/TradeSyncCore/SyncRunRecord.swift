// A value the store reads and writes, and the engine and commands show: it lives in Core so
// that neither needs the store module to name it.

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

    public init(id: String, integrationId: String, demoId: String, entityType: String, syncType: String,
                status: SyncRunStatus, fetched: Int, inserted: Int, updated: Int, unchanged: Int, failed: Int,
                startedAt: Int64, completedAt: Int64?, durationMs: Int64?, errorMessage: String?, detailsJSON: String) {
        self.id = id
        self.integrationId = integrationId
        self.demoId = demoId
        self.entityType = entityType
        self.syncType = syncType
        self.status = status
        self.fetched = fetched
        self.inserted = inserted
        self.updated = updated
        self.unchanged = unchanged
        self.failed = failed
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.durationMs = durationMs
        self.errorMessage = errorMessage
        self.detailsJSON = detailsJSON
    }
}

public import TradeSyncCore

/// One applied item: what `apply` (or `migrate`) last brought the store in line with.
public struct AppliedItem: Sendable, Equatable {
    /// `connection`, `mapping`, `schedule` or `model`.
    public var kind: String
    public var name: String
    public var hash: String
    /// The item's description without secrets (JSON text), for field-level diffs.
    public var detailJSON: String
    public init(kind: String, name: String, hash: String, detailJSON: String) {
        self.kind = kind
        self.name = name
        self.hash = hash
        self.detailJSON = detailJSON
    }
}

/// One run of `apply`: when, the configuration's hash, and the git commit it came from.
public struct ApplyRecord: Sendable, Equatable {
    public var id: String
    public var appliedAt: Int64
    public var configHash: String
    public var gitCommit: String?
    /// What the apply did, as JSON text.
    public var summaryJSON: String
    public init(id: String, appliedAt: Int64, configHash: String, gitCommit: String?, summaryJSON: String) {
        self.id = id
        self.appliedAt = appliedAt
        self.configHash = configHash
        self.gitCommit = gitCommit
        self.summaryJSON = summaryJSON
    }
}

/// What `plan` reads besides the records: the applied state, the model's recorded columns, the
/// connections marked removed and the kept raw payloads. Reads only.
public protocol AppliedStateReader: Sendable {
    /// False for a store never migrated: `plan` reads it as empty instead of failing.
    func hasSchema() async throws -> Bool
    func appliedState() async throws -> [AppliedItem]
    func applies(limit: Int) async throws -> [ApplyRecord]
    /// The columns the store created for the model, by table (`tradesync_model_columns`).
    func modelColumns() async throws -> [String: Set<String>]
    /// Store ids of the connections `apply` marked removed.
    func removedConnectionIds() async throws -> Set<String>
    /// The kept raw payloads of one stream, a batch at a time: the first batch from nil, each
    /// next from the position the previous one returned, until that is nil. `entity` is the
    /// stream's entity (its rows point at their payloads); nil for a looked-up stream.
    func keptRaws(integrationId: String, stream: String, entity: EntityModel?, from: KeptRawPosition?) async throws
        -> (records: [KeptRaw], next: KeptRawPosition?)
}

/// One kept raw payload: the record as fetched, or nil when what is kept cannot be read.
public struct KeptRaw: Sendable {
    public var externalId: String
    public var record: JSONValue?
    public init(externalId: String, record: JSONValue?) {
        self.externalId = externalId
        self.record = record
    }
}

/// Where reading a stream's kept payloads stands: its raw pages in order, then the payloads
/// kept one per record (looked-up streams, and those kept before pages), by external id.
public struct KeptRawPosition: Sendable, Equatable {
    var afterPage: Int64?
    var inSingles = false
    var afterExternalId: String?
}

/// Records an apply, and marks connections removed from (or back in) the configuration.
public protocol AppliedStateWriter: AppliedStateReader {
    /// In one transaction: replaces the applied items of `items`, deletes those named in
    /// `dropped` (kind, name), and appends the apply record.
    func recordApply(_ items: [AppliedItem], dropped: [(kind: String, name: String)], record: ApplyRecord?) async throws
    /// Marks a connection removed (its rows stay), or clears the mark (`at` nil).
    func markConnectionRemoved(id: String, at: Int64?) async throws
}

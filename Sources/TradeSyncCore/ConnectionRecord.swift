// A value the store reads and writes, and the engine and commands show: it lives in Core so
// that neither needs the store module to name it.

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

// A value the store reads and writes, and the engine and commands show: it lives in Core so
// that neither needs the store module to name it.

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

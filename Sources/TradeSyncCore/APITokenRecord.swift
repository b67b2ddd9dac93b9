// A value the store reads and writes, and the engine and commands show: it lives in Core so
// that neither needs the store module to name it.

/// A row of `tradesync_api_tokens`: who a bearer token speaks for. The token itself is never
/// stored, only its SHA-256; `id` is the token's public part (it is written inside the token),
/// so a presented token finds its row without a search by secret.
public struct APITokenRecord: Sendable, Equatable {
    public var id: String
    /// SHA-256 of the whole token, lowercase hex.
    public var hash: String
    /// The contractor (demo id) it may see; nil for an admin token.
    public var contractorId: String?
    public var admin: Bool
    public var label: String?
    public var createdAt: Int64
    public var lastUsedAt: Int64?
    public var revokedAt: Int64?

    public init(id: String, hash: String, contractorId: String?, admin: Bool, label: String?, createdAt: Int64,
                lastUsedAt: Int64? = nil, revokedAt: Int64? = nil) {
        self.id = id
        self.hash = hash
        self.contractorId = contractorId
        self.admin = admin
        self.label = label
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }
}

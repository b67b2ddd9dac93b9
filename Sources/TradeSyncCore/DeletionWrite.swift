/// A stream's provider-side deletions, applied as soft deletes: the entity rows whose external
/// ids are given get `deleted_at` (kept, never removed), and the deletions' own cursor moves, in
/// one transaction fenced like a page write.
public struct DeletionWrite: Sendable, Equatable {
    public var integrationId: String
    public var entity: EntityModel
    /// The cursor key of the deletions (`<stream>#deletes`), apart from the stream's own cursor.
    public var cursorKey: String
    /// The deletions' new cursor; nil leaves it as it is.
    public var cursor: String?
    public var externalIds: [String]
    /// µs since the epoch: the `deleted_at` written and the cursor's time.
    public var now: Int64
    public var fence: LeaseFence?

    public init(
        integrationId: String, entity: EntityModel, cursorKey: String, cursor: String?, externalIds: [String], now: Int64,
        fence: LeaseFence? = nil
    ) {
        self.integrationId = integrationId
        self.entity = entity
        self.cursorKey = cursorKey
        self.cursor = cursor
        self.externalIds = externalIds
        self.now = now
        self.fence = fence
    }

    /// The model field a soft delete sets. An entity without it cannot take deletions.
    public static let field = "deleted_at"
}

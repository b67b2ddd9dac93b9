public import TradeSyncCore

/// The synced records as read: cursors, the stored identity of external ids, kept failures and
/// rows. A dry run holds only this view of the store, so it cannot write.
public protocol RecordReader: Sendable {
    func cursor(integrationId: String, stream: String) async throws -> String?
    /// The stored identity (internal id, row hash) of each of `externalIds` that has a stored row.
    func existing(integrationId: String, entity: EntityModel, externalIds: [String]) async throws
        -> [String: StoredIdentity]
    /// Failed records kept for retry, oldest first: one connection's (and stream's), or all.
    func keptFailures(integrationId: String?, stream: String?, limit: Int) async throws -> [KeptFailure]
    /// Every stored row of an entity for one integration, keyed by external id.
    func rows(entity: EntityModel, integrationId: String) async throws -> [String: StoredRow]
    func mappingCount(integrationId: String, entity: String) async throws -> Int
    /// The rows of an entity for one integration not soft-deleted: what a delete guard weighs
    /// a stream's deletions against.
    func liveCount(integrationId: String, entity: EntityModel) async throws -> Int
    /// Which of `externalIds` name a live row: the deletions a guard weighs, without reading rows.
    func liveExternalIds(integrationId: String, entity: EntityModel, among externalIds: [String]) async throws -> Set<String>
}

/// Writes pages: the only role that changes synced records.
public protocol RecordWriter: RecordReader {
    /// Plans the page against the stored identities (`PagePlan.make`) and applies the plan: the
    /// records (their id mappings are a view of them), the stream's new cursor, its kept failed records and its run
    /// counts, in one transaction. With a fence, the transaction first checks (and extends) the
    /// lease and throws `LeaseLostError` when another process holds it.
    func applyPage(_ page: PageWrite) async throws -> PageOutcome
    /// `applyPage` for a page that may be written while the stream's previous page is still
    /// committing: `previous` returns once that page's transaction committed (and throws if it
    /// did not). The caller passes only pages whose external ids the previous page does not
    /// touch. A store that can overlap the two (`overlapsPageWrites`) does this page's row work
    /// meanwhile and commits it, with the cursor and the run counts, only after `previous`; the
    /// others wait for `previous` first.
    func applyPage(_ page: PageWrite, after previous: @escaping @Sendable () async throws -> Void) async throws
        -> PageOutcome
    /// Whether `applyPage(_:after:)` overlaps two pages' writes (PostgreSQL: two connections).
    var overlapsPageWrites: Bool { get }
    /// Soft-deletes the rows of the given external ids still live (sets `deleted_at`, keeps the
    /// rows) and moves the deletions' cursor, in one transaction fenced like `applyPage`.
    /// Returns how many rows it marked.
    func applyDeletions(_ write: DeletionWrite) async throws -> Int
}

extension RecordWriter {
    public func applyPage(_ page: PageWrite, after previous: @escaping @Sendable () async throws -> Void) async throws
        -> PageOutcome
    {
        try await previous()
        return try await applyPage(page)
    }

    public var overlapsPageWrites: Bool { false }
}

extension RecordReader {
    /// What `applyPage` would do, without writing (dry runs): the same plan, never applied.
    public func plan(_ page: PageWrite) async throws -> PagePlan {
        let known = try await existing(
            integrationId: page.integrationId, entity: page.entity, externalIds: page.records.map(\.externalId))
        return PagePlan.make(page, existing: known, newId: newIdentifier)
    }
}

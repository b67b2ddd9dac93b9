public import TradeSyncCore

/// Soft deletes and the count the delete guard weighs them against: the same statements on both
/// backends (one small statement per deleted id; a deletions answer is short).
extension SQLStore {
    public func applyDeletions(_ write: DeletionWrite) async throws -> Int {
        guard write.entity.field(DeletionWrite.field) != nil else {
            throw StoreError("entity '\(write.entity.name)' has no \(DeletionWrite.field) field: it cannot take deletions")
        }
        let table = Schema.quote(write.entity.table)
        return try await sql.transaction { db in
            if let fence = write.fence { try await Self.extendLease(db, integrationId: write.integrationId, fence) }
            var deleted = 0
            for id in Set(write.externalIds).sorted() {
                // Only rows still live: a repeated deletion leaves the first deleted_at alone.
                deleted += try await db.query("""
                    UPDATE \(table) SET \(DeletionWrite.field) = ?1
                    WHERE \(DeletionWrite.field) IS NULL AND integration_id = ?2 AND external_id = ?3
                    RETURNING 1
                    """, [.timestamp(write.now), .text(write.integrationId), .text(id)]).count
            }
            if let cursor = write.cursor {
                try await db.execute("""
                    INSERT INTO tradesync_cursors (integration_id, stream, cursor, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (integration_id, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at
                    """, [.text(write.integrationId), .text(write.cursorKey), .text(cursor), .timestamp(write.now)])
            }
            return deleted
        }
    }

    /// The rows of an entity for one integration that are not soft-deleted.
    public func liveCount(integrationId: String, entity: EntityModel) async throws -> Int {
        let live = entity.field(DeletionWrite.field) != nil ? " AND \(DeletionWrite.field) IS NULL" : ""
        return Int(try await sql.query(
            "SELECT COUNT(*) FROM \(Schema.quote(entity.table)) WHERE integration_id = ?\(live)",
            [.text(integrationId)]).first?.int(0) ?? 0)
    }

    /// Which of `externalIds` name a live row (stored, not soft-deleted): one statement per 500
    /// ids, instead of reading the entity's rows back.
    public func liveExternalIds(integrationId: String, entity: EntityModel, among externalIds: [String]) async throws
        -> Set<String>
    {
        let live = entity.field(DeletionWrite.field) != nil ? " AND t.\(DeletionWrite.field) IS NULL" : ""
        var found = Set<String>()
        let ids = Array(Set(externalIds))
        for start in stride(from: 0, to: ids.count, by: 500) {
            let chunk = ids[start..<min(start + 500, ids.count)]
            let list = (0..<chunk.count).map { "?\($0 + 2)" }.joined(separator: ", ")
            let rows = try await sql.query("""
                SELECT t.external_id FROM \(Schema.quote(entity.table)) t
                WHERE t.integration_id = ?1\(live) AND t.external_id IN (\(list))
                """, [.text(integrationId)] + chunk.map { .text($0) })
            for row in rows { if let id = row.text(0) { found.insert(id) } }
        }
        return found
    }

    /// Extends the lease if `fence.holder` still holds it, inside the caller's transaction: on
    /// PostgreSQL the row lock holds off a takeover until the commit; SQLite has one writer.
    static func extendLease(_ db: any SQLExecutor, integrationId: String, _ fence: LeaseFence) async throws {
        let held = try await db.query("""
            UPDATE tradesync_leases SET expires_at_micros = ? WHERE integration_id = ? AND holder = ? RETURNING 1
            """, [.int(currentMicros() + Int64(fence.ttlSeconds) * 1_000_000), .text(integrationId), .text(fence.holder)])
        if held.isEmpty { throw LeaseLostError(holder: fence.holder) }
    }
}
